/* pbjson_names.c — what decoding (pbjson.c), encoding (pbjson_encode.c) and the OpenAPI schemas
 * (pbjson_openapi.c) share: JSON names of fields (protoc's ToJsonName) and lookup by either name, enum
 * words, base64 output, and where a field's value lives in a message (see pbjson.h, pbjson_internal.h).
 */
#include "pbjson.h"
#include "pbjson_internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* ---- small text helpers (ASCII only: no locale) ---- */

static bool s_is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}
static bool s_is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}
static bool s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}
static char s_to_upper(char c)
{
    return s_is_lower(c) ? (char)(c - 'a' + 'A') : c;
}
static char s_to_lower(char c)
{
    return s_is_upper(c) ? (char)(c - 'A' + 'a') : c;
}

/* ---- base64 (RFC 4648) through libsodium: standard alphabet with padding on output. ---- */

/* Returns a malloc'd NUL-terminated text, or NULL when out of memory. */
char *pbjson_base64_encode(const uint8_t *data, size_t len, size_t *out_len)
{
    size_t size = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(size);
    if (!out)
        return NULL;
    sodium_bin2base64(out, size, len ? data : (const uint8_t *)"", len, sodium_base64_VARIANT_ORIGINAL);
    *out_len = strlen(out);
    return out;
}

/* ---- names ---- */

const char *pbjson_json_name(const ProtobufCFieldDescriptor *field, char *buf, size_t size)
{
    /* protoc's ToJsonName: drop each '_' and upper-case the letter after it. */
    size_t o = 0;
    bool upper_next = false;
    if (size == 0)
        return buf;
    for (const char *p = field->name; *p && o + 1 < size; p++) {
        if (*p == '_') {
            upper_next = true;
            continue;
        }
        buf[o++] = upper_next ? s_to_upper(*p) : *p;
        upper_next = false;
    }
    buf[o] = '\0';
    return buf;
}

/* Does name equal the JSON name of field (computed without a buffer)? */
static bool s_json_name_equals(const ProtobufCFieldDescriptor *field, const char *name)
{
    bool upper_next = false;
    const char *n = name;
    for (const char *p = field->name; *p; p++) {
        if (*p == '_') {
            upper_next = true;
            continue;
        }
        char c = upper_next ? s_to_upper(*p) : *p;
        upper_next = false;
        if (*n != c)
            return false;
        n++;
    }
    return *n == '\0';
}

const ProtobufCFieldDescriptor *pbjson_find_field(const ProtobufCMessageDescriptor *desc, const char *name)
{
    if (!desc || !name)
        return NULL;
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (s_json_name_equals(&desc->fields[i], name))
            return &desc->fields[i];
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (strcmp(desc->fields[i].name, name) == 0)
            return &desc->fields[i];
    return NULL;
}

/* ---- the JSON names of a message's fields as the writer puts them ("name":), cached per
 * descriptor for the process lifetime in an open-addressing table (reachable from a static pointer,
 * single-threaded as the rest of a service); a full table is not an error: names are computed ---- */

#define S_NAMES_SLOTS 1024 /* message types; proto/ has a few hundred */

typedef struct {
    const ProtobufCMessageDescriptor *desc;
    pbjson_field_names names;
} s_names_entry;

static s_names_entry *s_names_table;
static size_t s_names_used;

static bool s_names_build(const ProtobufCMessageDescriptor *desc, pbjson_field_names *out)
{
    size_t total = 0;
    for (unsigned i = 0; i < desc->n_fields; i++)
        total += strlen(desc->fields[i].name) + 3; /* '"', the name (at most), '"', ':' */
    char *text = malloc(total ? total : 1);
    uint32_t *offsets = malloc((desc->n_fields + 1) * sizeof *offsets);
    if (!text || !offsets) {
        free(text);
        free(offsets);
        return false;
    }
    size_t o = 0;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        offsets[i] = (uint32_t)o;
        text[o++] = '"';
        pbjson_json_name(&desc->fields[i], text + o, total - o);
        o += strlen(text + o);
        text[o++] = '"';
        text[o++] = ':';
    }
    offsets[desc->n_fields] = (uint32_t)o;
    out->text = text;
    out->offsets = offsets;
    return true;
}

const pbjson_field_names *pbjson_field_names_of(const ProtobufCMessageDescriptor *desc)
{
    if (!s_names_table) {
        s_names_table = calloc(S_NAMES_SLOTS, sizeof *s_names_table);
        if (!s_names_table)
            return NULL;
    }
    size_t slot = ((uintptr_t)desc >> 4) % S_NAMES_SLOTS;
    for (size_t probe = 0; probe < S_NAMES_SLOTS; probe++, slot = (slot + 1) % S_NAMES_SLOTS) {
        s_names_entry *e = &s_names_table[slot];
        if (e->desc == desc)
            return &e->names;
        if (e->desc == NULL) {
            if (s_names_used * 4 >= S_NAMES_SLOTS * 3 || !s_names_build(desc, &e->names))
                return NULL;
            e->desc = desc;
            s_names_used++;
            return &e->names;
        }
    }
    return NULL;
}

/* ---- enum words, cached per descriptor for the process lifetime ----
 * The cache is reachable from a static pointer, so leak checkers do not count it as leaked.
 * Single-threaded use only (as the rest of a service: one loop per process). */

typedef struct {
    const ProtobufCEnumDescriptor *desc;
    char **words; /* parallel to desc->values; NULL for value 0 */
} s_enum_entry;

static s_enum_entry *s_enum_cache;
static size_t s_enum_cache_count;
static size_t s_enum_cache_capacity;

/* UPPER_SNAKE of a CamelCase name: StaffCategory → STAFF_CATEGORY, HTTPStatus → HTTP_STATUS. */
static char *s_upper_snake(const char *name)
{
    size_t len = strlen(name);
    char *out = malloc(len * 2 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (i > 0 && s_is_upper(c)) {
            char prev = name[i - 1];
            char next = name[i + 1];
            if (s_is_lower(prev) || s_is_digit(prev) || (s_is_upper(prev) && s_is_lower(next)))
                out[o++] = '_';
        }
        out[o++] = s_to_upper(c);
    }
    out[o] = '\0';
    return out;
}

static char **s_enum_words(const ProtobufCEnumDescriptor *desc)
{
    for (size_t i = 0; i < s_enum_cache_count; i++)
        if (s_enum_cache[i].desc == desc)
            return s_enum_cache[i].words;
    if (s_enum_cache_count == s_enum_cache_capacity) {
        size_t capacity = s_enum_cache_capacity ? s_enum_cache_capacity * 2 : 16;
        s_enum_entry *grown = realloc(s_enum_cache, capacity * sizeof *grown);
        if (!grown)
            return NULL;
        s_enum_cache = grown;
        s_enum_cache_capacity = capacity;
    }
    char *prefix = s_upper_snake(desc->short_name);
    char **words = calloc(desc->n_values ? desc->n_values : 1, sizeof *words);
    if (!prefix || !words) {
        free(prefix);
        free(words);
        return NULL;
    }
    size_t prefix_len = strlen(prefix);
    for (unsigned i = 0; i < desc->n_values; i++) {
        const ProtobufCEnumValue *v = &desc->values[i];
        if (v->value == 0)
            continue;
        const char *rest = v->name;
        if (strncmp(rest, prefix, prefix_len) == 0 && rest[prefix_len] == '_' && rest[prefix_len + 1])
            rest += prefix_len + 1;
        size_t n = strlen(rest);
        char *word = malloc(n + 1);
        if (!word) {
            for (unsigned j = 0; j < i; j++)
                free(words[j]);
            free(words);
            free(prefix);
            return NULL;
        }
        for (size_t k = 0; k < n; k++)
            word[k] = s_to_lower(rest[k]);
        word[n] = '\0';
        words[i] = word;
    }
    free(prefix);
    s_enum_cache[s_enum_cache_count].desc = desc;
    s_enum_cache[s_enum_cache_count].words = words;
    s_enum_cache_count++;
    return words;
}

const char *pbjson_enum_word(const ProtobufCEnumDescriptor *desc, int value)
{
    if (!desc || value == 0)
        return NULL;
    char **words = s_enum_words(desc);
    if (!words)
        return NULL;
    for (unsigned i = 0; i < desc->n_values; i++)
        if (desc->values[i].value == value)
            return words[i];
    return NULL;
}

bool pbjson_enum_parse(const ProtobufCEnumDescriptor *desc, const char *word, int *value)
{
    if (!desc || !word)
        return false;
    char **words = s_enum_words(desc);
    if (!words)
        return false;
    for (unsigned i = 0; i < desc->n_values; i++) {
        if (words[i] && strcmp(words[i], word) == 0) {
            if (value)
                *value = desc->values[i].value;
            return true;
        }
    }
    return false;
}

/* ---- field storage ---- */

size_t pbjson_value_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

void *pbjson_member(const ProtobufCMessage *msg, unsigned offset)
{
    return (char *)msg + offset;
}

/* OPTIONAL/REQUIRED scalars and bytes carry a has_ flag (proto2, proto3 `optional`). */
bool pbjson_has_presence_flag(const ProtobufCFieldDescriptor *field)
{
    if (field->label != PROTOBUF_C_LABEL_OPTIONAL && field->label != PROTOBUF_C_LABEL_REQUIRED)
        return false;
    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return false;
    return field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE;
}
