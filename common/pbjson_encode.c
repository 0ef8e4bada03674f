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
        size_t cap = t->cap ? t->cap : 1024; /* a record's JSON fits in one go */
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

/* The written text, NUL-terminated (its length in *len when len is set); NULL, freed, when writing failed. */
static char *s_text_finish(s_text *t, size_t *len)
{
    if (t->failed || !s_reserve(t, 0)) {
        free(t->data);
        return NULL;
    }
    t->data[t->len] = '\0';
    if (len)
        *len = t->len;
    return t->data;
}

static void s_put_char(s_text *t, char c)
{
    s_put(t, &c, 1);
}

/* A JSON string of UTF-8 text as jansson writes it: ", \\ and control characters escaped. With
 * check, the text is validated in the same pass: false (nothing written) at a byte that does not
 * start a valid sequence. */
static bool s_put_string_bytes(s_text *t, const char *text, size_t len, bool check)
{
    /* room for the quotes and the text as it is; escapes grow it below */
    if (!s_reserve(t, len + 2))
        return true;
    size_t start = t->len;
    t->data[t->len++] = '"';
    const unsigned char *p = (const unsigned char *)text;
    size_t run = 0; /* bytes copied as they are, written in one go */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        if (c >= 0x80) {
            size_t step = !check ? 1
                          : c >= 0xC2 && c <= 0xDF && i + 1 < len && (p[i + 1] & 0xC0) == 0x80
                              ? 2 /* a two-byte letter: all of Cyrillic */
                              : utf8_sequence(text + i, len - i, NULL);
            if (step == 0) {
                t->len = start;
                return false;
            }
            run += step;
            i += step - 1;
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
    return true;
}

/* A JSON string of len bytes of text; text that is not UTF-8 (should not happen) is shown with its
 * bad bytes replaced, not dropped. */
static void s_put_text(s_text *t, const char *text, size_t len)
{
    if (s_put_string_bytes(t, text, len, true))
        return;
    size_t clean_len;
    char *clean = utf8_sanitize(text, len, &clean_len);
    if (!clean) {
        t->failed = true;
        return;
    }
    s_put_string_bytes(t, clean, clean_len, false);
    free(clean);
}

static void s_put_string(s_text *t, const char *text)
{
    if (!text)
        s_put(t, "\"\"", 2);
    else
        s_put_text(t, text, strlen(text));
}

/* Decimal digits of v, with a '-' when negative; in quotes when quoted (64-bit integers). */
static void s_put_integer(s_text *t, uint64_t magnitude, bool negative, bool quoted)
{
    char buf[24];
    char *end = buf + sizeof buf, *p = end;
    do {
        *--p = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (negative)
        *--p = '-';
    if (quoted)
        *--p = '"';
    size_t n = (size_t)(end - p);
    if (!s_reserve(t, n + 1))
        return;
    memcpy(t->data + t->len, p, n);
    t->len += n;
    if (quoted)
        t->data[t->len++] = '"';
}

static void s_put_signed(s_text *t, int64_t v, bool quoted)
{
    uint64_t magnitude = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    s_put_integer(t, magnitude, v < 0, quoted);
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

/* An enum value: its word, null for 0, its number when this build does not know it. */
static void s_put_enum(s_text *t, const ProtobufCFieldDescriptor *field, int v)
{
    if (v == 0) {
        s_put(t, "null", 4);
        return;
    }
    const char *word = pbjson_enum_word(field->descriptor, v);
    if (word)
        s_put_string(t, word);
    else
        s_put_signed(t, v, false); /* unknown to this build: kept as its number */
}

static void s_put_bytes(s_text *t, const uint8_t *data, size_t n)
{
    size_t len;
    char *text = pbjson_base64_encode(data, data ? n : 0, &len);
    if (!text) {
        t->failed = true;
        return;
    }
    s_put_string_bytes(t, text, len, false);
    free(text);
}

static void s_put_value(s_text *t, const ProtobufCFieldDescriptor *field, const void *slot, int depth)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        s_put_signed(t, *(const int32_t *)slot, false);
        return;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        s_put_integer(t, *(const uint32_t *)slot, false, false);
        return;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        s_put_signed(t, *(const int64_t *)slot, true);
        return;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        s_put_integer(t, *(const uint64_t *)slot, false, true);
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
    case PROTOBUF_C_TYPE_ENUM:
        s_put_enum(t, field, *(const int *)slot);
        return;
    case PROTOBUF_C_TYPE_STRING:
        s_put_string(t, *(char *const *)slot);
        return;
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = slot;
        s_put_bytes(t, b->data, b->len);
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
    t->failed = true;
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

/* "<json name>": from the per-type cache, else written by pbjson_json_name (protoc's ToJsonName: each
 * '_' dropped and the letter after it upper-cased); proto field names need no escaping. */
static void s_put_json_name(s_text *t, const ProtobufCFieldDescriptor *field, const pbjson_field_names *names,
                            unsigned index)
{
    if (names) {
        size_t n = names->offsets[index + 1] - names->offsets[index];
        if (s_reserve(t, n)) {
            memcpy(t->data + t->len, names->text + names->offsets[index], n);
            t->len += n;
        }
        return;
    }
    /* the cache is full or out of memory: the name written here, by the one rule (pbjson_json_name) */
    size_t room = strlen(field->name) + 1; /* the JSON name is never longer, plus its NUL */
    if (!s_reserve(t, room + 2))           /* '"' before, '"' ':' after (the NUL's place is reused) */
        return;
    t->data[t->len++] = '"';
    pbjson_json_name(field, t->data + t->len, room);
    t->len += strlen(t->data + t->len);
    t->data[t->len++] = '"';
    t->data[t->len++] = ':';
}

static void s_put_message(s_text *t, const ProtobufCMessage *msg, int depth)
{
    if (depth > S_ENCODE_MAX_DEPTH) {
        t->failed = true;
        return;
    }
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const pbjson_field_names *names = pbjson_field_names_of(desc);
    s_put_char(t, '{');
    for (unsigned i = 0; i < desc->n_fields && !t->failed; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        if (i)
            s_put_char(t, ',');
        s_put_json_name(t, field, names, i);
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
    return s_text_finish(&t, len);
}

/* ---- the text straight from the wire format: the same bytes as pbjson_encode of the unpacked
 * message, without unpacking it (the gateway encodes every answer from the service's bytes). What
 * is not plainly the same as protobuf-c would read it — groups, a tag of 0, a field with a wire type
 * its type does not have, a singular message twice (protobuf-c merges), defaults other than proto3's,
 * and the kinds proto/ does not use (oneofs, packed repeated numbers) — fails, and the caller takes
 * the unpack path. ---- */

typedef struct {
    uint32_t id;
    uint8_t wire;
    size_t tag_at;   /* where the field starts (its tag) */
    size_t value_at; /* where its value starts (after the length, for length-delimited ones) */
    size_t value_len;
    uint64_t varint;
} s_wire_field;

/* A varint of at most max bytes at data[*pos]; false when cut short or longer. */
static bool s_wire_varint(const uint8_t *data, size_t len, size_t *pos, unsigned max, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < max; i++) {
        if (*pos >= len)
            return false;
        uint8_t b = data[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* The next field at *pos (the limits protobuf-c reads with: a tag of at most 5 bytes, a length of at
 * most 5, a varint of at most 10); false at a malformed one. */
static bool s_wire_next(const uint8_t *data, size_t len, size_t *pos, s_wire_field *f)
{
    uint64_t key = 0, n = 0;
    f->tag_at = *pos;
    if (!s_wire_varint(data, len, pos, 5, &key) || (key >> 3) == 0)
        return false;
    f->id = (uint32_t)(key >> 3);
    f->wire = (uint8_t)(key & 7);
    f->value_at = *pos;
    switch (f->wire) {
    case PROTOBUF_C_WIRE_TYPE_VARINT:
        if (!s_wire_varint(data, len, pos, 10, &f->varint))
            return false;
        f->value_len = *pos - f->value_at;
        return true;
    case PROTOBUF_C_WIRE_TYPE_64BIT:
    case PROTOBUF_C_WIRE_TYPE_32BIT:
        f->value_len = f->wire == PROTOBUF_C_WIRE_TYPE_64BIT ? 8 : 4;
        if (len - *pos < f->value_len)
            return false;
        *pos += f->value_len;
        return true;
    case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
        if (!s_wire_varint(data, len, pos, 5, &n) || n > len - *pos)
            return false;
        f->value_at = *pos;
        f->value_len = (size_t)n;
        *pos += (size_t)n;
        return true;
    default: /* groups and the unused wire types: protobuf-c refuses them */
        return false;
    }
}

/* The wire type a singular value of type has. */
static int s_wire_type_of(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return PROTOBUF_C_WIRE_TYPE_32BIT;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return PROTOBUF_C_WIRE_TYPE_64BIT;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
    default:
        return PROTOBUF_C_WIRE_TYPE_VARINT;
    }
}

static uint64_t s_wire_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static void s_wire_message(s_text *t, const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                           int depth, pbjson_capture *captures, size_t n_captures);

/* One value of field (not repeated-packed) from the wire. */
static void s_wire_value(s_text *t, const ProtobufCFieldDescriptor *field, const uint8_t *data, const s_wire_field *f,
                         int depth)
{
    const uint8_t *value = data + f->value_at;
    uint64_t v = f->varint;
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
        s_put_signed(t, (int32_t)(uint32_t)v, false);
        return;
    case PROTOBUF_C_TYPE_SINT32: {
        uint32_t u = (uint32_t)v;
        s_put_signed(t, (int32_t)(u >> 1) ^ -(int32_t)(u & 1), false);
        return;
    }
    case PROTOBUF_C_TYPE_UINT32:
        s_put_integer(t, (uint32_t)v, false, false);
        return;
    case PROTOBUF_C_TYPE_INT64:
        s_put_signed(t, (int64_t)v, true);
        return;
    case PROTOBUF_C_TYPE_SINT64:
        s_put_signed(t, (int64_t)(v >> 1) ^ -(int64_t)(v & 1), true);
        return;
    case PROTOBUF_C_TYPE_UINT64:
        s_put_integer(t, v, false, true);
        return;
    case PROTOBUF_C_TYPE_SFIXED32:
        s_put_signed(t, (int32_t)(uint32_t)s_wire_le(value, 4), false);
        return;
    case PROTOBUF_C_TYPE_FIXED32:
        s_put_integer(t, s_wire_le(value, 4), false, false);
        return;
    case PROTOBUF_C_TYPE_SFIXED64:
        s_put_signed(t, (int64_t)s_wire_le(value, 8), true);
        return;
    case PROTOBUF_C_TYPE_FIXED64:
        s_put_integer(t, s_wire_le(value, 8), false, true);
        return;
    case PROTOBUF_C_TYPE_FLOAT: {
        uint32_t bits = (uint32_t)s_wire_le(value, 4);
        float x;
        memcpy(&x, &bits, sizeof x);
        s_put_real(t, x);
        return;
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        uint64_t bits = s_wire_le(value, 8);
        double x;
        memcpy(&x, &bits, sizeof x);
        s_put_real(t, x);
        return;
    }
    case PROTOBUF_C_TYPE_BOOL: {
        bool set = false; /* as protobuf-c reads it: any payload bit of any byte, even past 64 bits */
        for (size_t i = 0; i < f->value_len; i++)
            set |= (value[i] & 0x7f) != 0;
        if (set)
            s_put(t, "true", 4);
        else
            s_put(t, "false", 5);
        return;
    }
    case PROTOBUF_C_TYPE_ENUM:
        s_put_enum(t, field, (int32_t)(uint32_t)v);
        return;
    case PROTOBUF_C_TYPE_STRING: {
        /* protobuf-c keeps the bytes NUL-terminated: what is shown ends at the first NUL */
        const uint8_t *nul = memchr(value, '\0', f->value_len);
        s_put_text(t, (const char *)value, nul ? (size_t)(nul - value) : f->value_len);
        return;
    }
    case PROTOBUF_C_TYPE_BYTES:
        s_put_bytes(t, value, f->value_len);
        return;
    case PROTOBUF_C_TYPE_MESSAGE:
        s_wire_message(t, field->descriptor, value, f->value_len, depth + 1, NULL, 0);
        return;
    }
    t->failed = true;
}

typedef struct {
    size_t first_tag, last_tag; /* where the first and the last occurrence start */
    s_wire_field last;
    bool seen;
} s_wire_slot;

/* What a field shows when the message does not carry it (the defaults of proto3). */
static void s_wire_absent(s_text *t, const ProtobufCFieldDescriptor *field)
{
    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
        s_put(t, "[]", 2);
    } else if (pbjson_has_presence_flag(field) || field->type == PROTOBUF_C_TYPE_MESSAGE ||
               (field->label == PROTOBUF_C_LABEL_OPTIONAL && field->type == PROTOBUF_C_TYPE_STRING)) {
        s_put(t, "null", 4);
    } else {
        s_wire_field zero = {0};
        static const uint8_t nothing[8] = {0};
        if (field->type == PROTOBUF_C_TYPE_STRING || field->type == PROTOBUF_C_TYPE_BYTES)
            s_put(t, "\"\"", 2);
        else
            s_wire_value(t, field, nothing, &zero, 0);
    }
}

/* A message's fields: where each occurs (slots, one per field of desc, zeroed), then the text. */
static void s_wire_fields(s_text *t, const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, int depth,
                          pbjson_capture *captures, size_t n_captures, s_wire_slot *slots)
{
    size_t pos = 0;
    while (pos < len) {
        s_wire_field f;
        if (!s_wire_next(data, len, &pos, &f)) {
            t->failed = true;
            return;
        }
        const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field(desc, f.id);
        if (field == NULL)
            continue; /* unknown to this build: protobuf-c keeps it aside, nothing shows it */
        s_wire_slot *slot = &slots[field - desc->fields];
        if (f.wire != s_wire_type_of(field->type) || (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
            (slot->seen && field->type == PROTOBUF_C_TYPE_MESSAGE && field->label != PROTOBUF_C_LABEL_REPEATED)) {
            t->failed = true;
            return;
        }
        if (!slot->seen)
            slot->first_tag = f.tag_at;
        slot->seen = true;
        slot->last_tag = f.tag_at;
        slot->last = f;
    }
    for (size_t c = 0; c < n_captures; c++) {
        pbjson_capture *k = &captures[c];
        k->found = false;
        if (k->field == NULL || k->field < desc->fields || k->field >= desc->fields + desc->n_fields ||
            k->field->label == PROTOBUF_C_LABEL_REPEATED || !slots[k->field - desc->fields].seen)
            continue;
        const s_wire_field *last = &slots[k->field - desc->fields].last;
        k->found = true;
        k->varint = last->varint;
        k->bytes = data + last->value_at;
        k->len = last->value_len;
    }
    const pbjson_field_names *names = pbjson_field_names_of(desc);
    s_put_char(t, '{');
    for (unsigned i = 0; i < desc->n_fields && !t->failed; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        const s_wire_slot *slot = &slots[i];
        if (field->default_value != NULL && field->type != PROTOBUF_C_TYPE_STRING) {
            t->failed = true; /* a proto2 default: not what this writer knows */
            return;
        }
        if (i)
            s_put_char(t, ',');
        s_put_json_name(t, field, names, i);
        if (!slot->seen) {
            s_wire_absent(t, field);
        } else if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            s_put_char(t, '[');
            bool first = true;
            size_t at = slot->first_tag;
            while (at <= slot->last_tag && !t->failed) {
                s_wire_field f;
                if (!s_wire_next(data, len, &at, &f)) {
                    t->failed = true;
                    break;
                }
                if (f.id != field->id)
                    continue;
                if (!first)
                    s_put_char(t, ',');
                first = false;
                s_wire_value(t, field, data, &f, depth);
            }
            s_put_char(t, ']');
        } else {
            s_wire_value(t, field, data, &slot->last, depth);
        }
    }
    s_put_char(t, '}');
}

#define S_WIRE_LOCAL_SLOTS 64 /* fields on the stack; a bigger message's slots are allocated */

static void s_wire_message(s_text *t, const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                           int depth, pbjson_capture *captures, size_t n_captures)
{
    if (depth > S_ENCODE_MAX_DEPTH || desc == NULL) {
        t->failed = true;
        return;
    }
    s_wire_slot local[S_WIRE_LOCAL_SLOTS];
    s_wire_slot *slots = local;
    if (desc->n_fields > S_WIRE_LOCAL_SLOTS)
        slots = calloc(desc->n_fields, sizeof *slots);
    else
        memset(local, 0, sizeof local[0] * desc->n_fields);
    if (slots == NULL) {
        t->failed = true;
        return;
    }
    s_wire_fields(t, desc, data, len, depth, captures, n_captures, slots);
    if (slots != local)
        free(slots);
}

char *pbjson_encode_packed_capture(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                                   size_t *out_len, pbjson_capture *captures, size_t n_captures)
{
    if (desc == NULL || (data == NULL && len > 0))
        return NULL;
    s_text t = {NULL, 0, 0, false};
    s_wire_message(&t, desc, data ? data : (const uint8_t *)"", len, 1, captures, n_captures);
    return s_text_finish(&t, out_len);
}

char *pbjson_encode_packed(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, size_t *out_len)
{
    return pbjson_encode_packed_capture(desc, data, len, out_len, NULL, 0);
}
