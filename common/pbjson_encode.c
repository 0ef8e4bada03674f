/* pbjson_encode — protobuf-c messages to JSON (pbjson_to_json, pbjson_encode; see pbjson.h for the
 * rules: lowerCamel names, 64-bit integers as strings, enum words, value 0 as null).
 */
#include "pbjson.h"
#include "pbjson_internal.h"

#include <inttypes.h>
#include <stdbool.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* Encoding has no error channel except NULL; data deeper than this is a programmer's mistake. */
#define S_ENCODE_MAX_DEPTH 100

/* ---- encoding ---- */

static json_t *s_message_to_json(const ProtobufCMessage *msg, int depth);

static json_t *s_string_to_json(const char *text)
{
    if (!text)
        return json_string("");
    size_t len = strlen(text);
    if (utf8_invalid_at(text, len) == len)
        return json_stringn_nocheck(text, len);
    /* stored text that is not UTF-8 (should not happen) is shown, not dropped */
    size_t clean_len;
    char *clean = utf8_sanitize(text, len, &clean_len);
    if (!clean)
        return NULL;
    json_t *value = json_stringn_nocheck(clean, clean_len);
    free(clean);
    return value;
}

static json_t *s_double_to_json(double v)
{
    if (isnan(v))
        return json_string("NaN");
    if (isinf(v))
        return json_string(v > 0 ? "Infinity" : "-Infinity");
    return json_real(v);
}

static json_t *s_value_to_json(const ProtobufCFieldDescriptor *field, const void *slot, int depth)
{
    char number[32];
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)slot);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)slot);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(number, sizeof number, "%" PRId64, *(const int64_t *)slot);
        return json_string(number);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(number, sizeof number, "%" PRIu64, *(const uint64_t *)slot);
        return json_string(number);
    case PROTOBUF_C_TYPE_FLOAT:
        return s_double_to_json(*(const float *)slot);
    case PROTOBUF_C_TYPE_DOUBLE:
        return s_double_to_json(*(const double *)slot);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)slot);
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)slot;
        if (v == 0)
            return json_null();
        const char *word = pbjson_enum_word(field->descriptor, v);
        /* a value this build does not know is kept as its number rather than lost */
        return word ? json_string(word) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_STRING:
        return s_string_to_json(*(char *const *)slot);
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = slot;
        size_t len;
        char *text = pbjson_base64_encode(b->data, b->data ? b->len : 0, &len);
        if (!text)
            return NULL;
        json_t *value = json_stringn_nocheck(text, len);
        free(text);
        return value;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)slot;
        return sub ? s_message_to_json(sub, depth + 1) : json_null();
    }
    }
    return NULL;
}

static json_t *s_field_to_json(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field, int depth)
{
    const void *member = pbjson_member(msg, field->offset);
    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        if (*(const uint32_t *)pbjson_member(msg, field->quantifier_offset) != field->id)
            return json_null();
        return s_value_to_json(field, member, depth);
    }
    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t count = *(const size_t *)pbjson_member(msg, field->quantifier_offset);
        const char *array = *(char *const *)member;
        size_t size = pbjson_value_size(field->type);
        json_t *list = json_array();
        if (!list)
            return NULL;
        for (size_t i = 0; array && i < count; i++) {
            if (json_array_append_new(list, s_value_to_json(field, array + i * size, depth))) {
                json_decref(list);
                return NULL;
            }
        }
        return list;
    }
    if (pbjson_has_presence_flag(field) && !*(const protobuf_c_boolean *)pbjson_member(msg, field->quantifier_offset))
        return json_null();
    if (field->label == PROTOBUF_C_LABEL_OPTIONAL && field->type == PROTOBUF_C_TYPE_STRING && !*(char *const *)member)
        return json_null();
    return s_value_to_json(field, member, depth);
}

static json_t *s_message_to_json(const ProtobufCMessage *msg, int depth)
{
    if (depth > S_ENCODE_MAX_DEPTH)
        return NULL;
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    json_t *object = json_object();
    if (!object)
        return NULL;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        char name[256];
        pbjson_json_name(field, name, sizeof name);
        if (json_object_set_new(object, name, s_field_to_json(msg, field, depth))) {
            json_decref(object);
            return NULL;
        }
    }
    return object;
}

json_t *pbjson_to_json(const ProtobufCMessage *msg)
{
    if (!msg || !msg->descriptor)
        return NULL;
    return s_message_to_json(msg, 1);
}

/* ---- the text directly: the same bytes as json_dumps(pbjson_to_json(msg), JSON_COMPACT |
 * JSON_PRESERVE_ORDER) without building the tree (the gateway encodes every answer; test_pbjson
 * compares both over many messages) ---- */

typedef struct {
    char *data;
    size_t len, cap;
    bool failed;
} s_text;

/* Room for n more bytes and the final NUL; false (and failed) when out of memory. */
static bool s_reserve(s_text *t, size_t n)
{
    if (t->failed)
        return false;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *data = realloc(t->data, cap);
        if (!data) {
            t->failed = true;
            return false;
        }
        t->data = data;
        t->cap = cap;
    }
    return true;
}

static void s_put(s_text *t, const char *bytes, size_t n)
{
    if (!s_reserve(t, n))
        return;
    memcpy(t->data + t->len, bytes, n);
    t->len += n;
}

static void s_put_char(s_text *t, char c)
{
    s_put(t, &c, 1);
}

/* A JSON string of UTF-8 text as jansson writes it: ", \ and control characters escaped. */
static void s_put_string_bytes(s_text *t, const char *text, size_t len)
{
    s_put_char(t, '"');
    size_t run = 0; /* bytes copied as they are, written in one go */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        s_put(t, text + i - run, run);
        run = 0;
        char esc[8];
        switch (c) {
        case '"':
            s_put(t, "\\\"", 2);
            break;
        case '\\':
            s_put(t, "\\\\", 2);
            break;
        case '\b':
            s_put(t, "\\b", 2);
            break;
        case '\f':
            s_put(t, "\\f", 2);
            break;
        case '\n':
            s_put(t, "\\n", 2);
            break;
        case '\r':
            s_put(t, "\\r", 2);
            break;
        case '\t':
            s_put(t, "\\t", 2);
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04X", c);
            s_put(t, esc, 6);
        }
    }
    s_put(t, text + len - run, run);
    s_put_char(t, '"');
}

static void s_put_string(s_text *t, const char *text)
{
    if (!text) {
        s_put(t, "\"\"", 2);
        return;
    }
    size_t len = strlen(text);
    if (utf8_invalid_at(text, len) == len) {
        s_put_string_bytes(t, text, len);
        return;
    }
    size_t clean_len; /* stored text that is not UTF-8 (should not happen) is shown, not dropped */
    char *clean = utf8_sanitize(text, len, &clean_len);
    if (!clean) {
        t->failed = true;
        return;
    }
    s_put_string_bytes(t, clean, clean_len);
    free(clean);
}

/* A real as jansson writes it: %.17g, ".0" when there is neither a point nor an exponent, the
 * exponent without '+' and leading zeros. */
static void s_put_real(s_text *t, double v)
{
    if (isnan(v) || isinf(v)) {
        s_put_string(t, isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
        return;
    }
    char buf[48];
    int n = snprintf(buf, sizeof buf - 3, "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof buf - 3) {
        t->failed = true;
        return;
    }
    size_t len = (size_t)n;
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        memcpy(buf + len, ".0", 3);
        len += 2;
    }
    char *e = strchr(buf, 'e');
    if (e) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - buf) + 1);
            len -= (size_t)(end - start);
        }
    }
    s_put(t, buf, len);
}

static void s_put_message(s_text *t, const ProtobufCMessage *msg, int depth);

static void s_put_value(s_text *t, const ProtobufCFieldDescriptor *field, const void *slot, int depth)
{
    char number[32];
    int n = -1;
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        n = snprintf(number, sizeof number, "%" PRId32, *(const int32_t *)slot);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        n = snprintf(number, sizeof number, "%" PRIu32, *(const uint32_t *)slot);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(number, sizeof number, "%" PRId64, *(const int64_t *)slot);
        s_put_string(t, number);
        return;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(number, sizeof number, "%" PRIu64, *(const uint64_t *)slot);
        s_put_string(t, number);
        return;
    case PROTOBUF_C_TYPE_FLOAT:
        s_put_real(t, *(const float *)slot);
        return;
    case PROTOBUF_C_TYPE_DOUBLE:
        s_put_real(t, *(const double *)slot);
        return;
    case PROTOBUF_C_TYPE_BOOL:
        if (*(const protobuf_c_boolean *)slot)
            s_put(t, "true", 4);
        else
            s_put(t, "false", 5);
        return;
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)slot;
        if (v == 0) {
            s_put(t, "null", 4);
            return;
        }
        const char *word = pbjson_enum_word(field->descriptor, v);
        if (word) {
            s_put_string(t, word);
            return;
        }
        n = snprintf(number, sizeof number, "%d", v); /* unknown to this build: kept as its number */
        break;
    }
    case PROTOBUF_C_TYPE_STRING:
        s_put_string(t, *(char *const *)slot);
        return;
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = slot;
        size_t len;
        char *text = pbjson_base64_encode(b->data, b->data ? b->len : 0, &len);
        if (!text) {
            t->failed = true;
            return;
        }
        s_put_string_bytes(t, text, len);
        free(text);
        return;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)slot;
        if (sub)
            s_put_message(t, sub, depth + 1);
        else
            s_put(t, "null", 4);
        return;
    }
    }
    if (n < 0) {
        t->failed = true;
        return;
    }
    s_put(t, number, (size_t)n);
}

static void s_put_field(s_text *t, const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field, int depth)
{
    const void *member = pbjson_member(msg, field->offset);
    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        if (*(const uint32_t *)pbjson_member(msg, field->quantifier_offset) != field->id)
            s_put(t, "null", 4);
        else
            s_put_value(t, field, member, depth);
        return;
    }
    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t count = *(const size_t *)pbjson_member(msg, field->quantifier_offset);
        const char *array = *(char *const *)member;
        size_t size = pbjson_value_size(field->type);
        s_put_char(t, '[');
        for (size_t i = 0; array && i < count; i++) {
            if (i)
                s_put_char(t, ',');
            s_put_value(t, field, array + i * size, depth);
        }
        s_put_char(t, ']');
        return;
    }
    if ((pbjson_has_presence_flag(field) &&
         !*(const protobuf_c_boolean *)pbjson_member(msg, field->quantifier_offset)) ||
        (field->label == PROTOBUF_C_LABEL_OPTIONAL && field->type == PROTOBUF_C_TYPE_STRING &&
         !*(char *const *)member)) {
        s_put(t, "null", 4);
        return;
    }
    s_put_value(t, field, member, depth);
}

/* "<json name>": straight into the text (protoc's ToJsonName, as pbjson_json_name: each '_' dropped
 * and the letter after it upper-cased); proto field names need no escaping. */
static void s_put_json_name(s_text *t, const ProtobufCFieldDescriptor *field)
{
    if (!s_reserve(t, strlen(field->name) + 3)) /* '"', the name (at most), '"', ':' */
        return;
    char *out = t->data + t->len;
    *out++ = '"';
    bool upper_next = false;
    for (const char *p = field->name; *p; p++) {
        if (*p == '_') {
            upper_next = true;
            continue;
        }
        *out++ = upper_next && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        upper_next = false;
    }
    *out++ = '"';
    *out++ = ':';
    t->len = (size_t)(out - t->data);
}

static void s_put_message(s_text *t, const ProtobufCMessage *msg, int depth)
{
    if (depth > S_ENCODE_MAX_DEPTH) {
        t->failed = true;
        return;
    }
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    s_put_char(t, '{');
    for (unsigned i = 0; i < desc->n_fields && !t->failed; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        if (i)
            s_put_char(t, ',');
        s_put_json_name(t, field);
        s_put_field(t, msg, field, depth);
    }
    s_put_char(t, '}');
}

char *pbjson_encode(const ProtobufCMessage *msg, size_t *len)
{
    if (!msg || !msg->descriptor)
        return NULL;
    s_text t = {NULL, 0, 0, false};
    s_put_message(&t, msg, 1);
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    t.data[t.len] = '\0';
    if (len)
        *len = t.len;
    return t.data;
}
