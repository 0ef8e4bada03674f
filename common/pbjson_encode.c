/* pbjson_encode — protobuf-c messages to JSON (pbjson_to_json, pbjson_encode; see pbjson.h for the
 * rules: lowerCamel names, 64-bit integers as strings, enum words, value 0 as null).
 */
#include "pbjson.h"
#include "pbjson_internal.h"

#include <inttypes.h>
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

char *pbjson_encode(const ProtobufCMessage *msg, size_t *len)
{
    json_t *object = pbjson_to_json(msg);
    if (!object)
        return NULL;
    char *text = json_dumps(object, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(object);
    if (text && len)
        *len = strlen(text);
    return text;
}
