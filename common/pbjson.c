/* pbjson.c — JSON ⇄ protobuf-c messages driven by the message descriptors (see pbjson.h).
 *
 * Invariants kept while decoding, so that protobuf_c_message_free_unpacked() can free a message
 * at any point, also after an error in the middle of a document:
 *  - a string/bytes member is replaced only by a complete malloc'd value, and the previous value is
 *    freed exactly as free_unpacked would have freed it (never the descriptor default);
 *  - a repeated member's array is malloc'd and its n_ count only covers slots holding complete
 *    values (a sub-message is counted as soon as it is allocated and initialised: it is then valid);
 *  - a sub-message is malloc'd and protobuf_c_message_init()ed before it is linked in.
 * Depth is counted in JSON containers ({ and [), the document's object being depth 1. The text is
 * scanned for depth before jansson parses it, and the walk checks depth again for objects given to
 * pbjson_merge_object() directly.
 *
 * Encoding (pbjson_to_json, pbjson_encode) is in pbjson_encode.c, the OpenAPI schemas of messages
 * (pbjson_openapi_ref) in pbjson_openapi.c, JSON names, enum words and field storage in pbjson_names.c.
 */
#include "pbjson.h"
#include "pbjson_internal.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "utf8.h"

#define S_DEFAULT_MAX_DEPTH        32
#define S_DEFAULT_MAX_STRING_BYTES 65536
#define S_DEFAULT_MAX_ARRAY_ITEMS  10000
/* How much of a client's value is quoted back in an error message. */
#define S_QUOTE_MAX_BYTES 64

/* ---- small text helpers (ASCII only: no locale) ---- */

static bool s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ---- base64 (RFC 4648) through libsodium: standard or URL-safe, padding optional, on input (as
 * ProtoJSON parsers accept). Encoding: pbjson_names.c. ---- */

/* Decodes text into a malloc'd buffer (*out NULL for empty input). Returns 0, -1 when the text is
 * not base64, -2 when out of memory. */
static int s_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (len == 0)
        return 0;
    bool url = memchr(text, '-', len) || memchr(text, '_', len);
    bool padded = text[len - 1] == '=';
    int variant = url ? (padded ? sodium_base64_VARIANT_URLSAFE : sodium_base64_VARIANT_URLSAFE_NO_PADDING)
                      : (padded ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    size_t max = len / 4 * 3 + 3;
    uint8_t *buf = malloc(max);
    if (!buf)
        return -2;
    const char *end = NULL;
    size_t n = 0;
    if (sodium_base642bin(buf, max, text, len, NULL, &n, &end, variant) != 0 || end != text + len) {
        free(buf);
        return -1;
    }
    if (n == 0) {
        free(buf);
        return -1; /* "=" or "==" alone */
    }
    *out = buf;
    *out_len = n;
    return 0;
}

/* protoc turns `map<K,V> name` into `repeated NameEntry name` with NameEntry nested in the message. */
static bool s_is_map(const ProtobufCMessageDescriptor *owner, const ProtobufCFieldDescriptor *field)
{
    if (field->label != PROTOBUF_C_LABEL_REPEATED || field->type != PROTOBUF_C_TYPE_MESSAGE)
        return false;
    const ProtobufCMessageDescriptor *entry = field->descriptor;
    size_t owner_len = strlen(owner->name), short_len = strlen(entry->short_name);
    if (short_len < 5 || strcmp(entry->short_name + short_len - 5, "Entry") != 0)
        return false;
    if (strncmp(entry->name, owner->name, owner_len) != 0 || entry->name[owner_len] != '.' ||
        strcmp(entry->name + owner_len + 1, entry->short_name) != 0)
        return false;
    return entry->n_fields == 2 && entry->fields[0].id == 1 && entry->fields[1].id == 2 &&
           strcmp(entry->fields[0].name, "key") == 0 && strcmp(entry->fields[1].name, "value") == 0;
}

/* Frees one value of type at slot exactly as protobuf_c_message_free_unpacked would. */
static void s_free_value(const ProtobufCFieldDescriptor *field, void *slot, bool element)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_STRING: {
        char *s = *(char **)slot;
        if (s && (element || (s != field->default_value && s != protobuf_c_empty_string)))
            free(s);
        *(char **)slot = NULL;
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = slot;
        const ProtobufCBinaryData *def = field->default_value;
        if (b->data && (element || !def || b->data != def->data))
            free(b->data);
        b->data = NULL;
        b->len = 0;
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *m = *(ProtobufCMessage **)slot;
        if (m && (element || m != field->default_value))
            protobuf_c_message_free_unpacked(m, NULL);
        *(ProtobufCMessage **)slot = NULL;
        break;
    }
    default:
        break;
    }
}

/* Frees the field's current value and puts back what protobuf_c_message_init() puts there. */
static int s_reset_field(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
    void *member = pbjson_member(msg, field->offset);
    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t *count = pbjson_member(msg, field->quantifier_offset);
        char *array = *(char **)member;
        size_t size = pbjson_value_size(field->type);
        if (array)
            for (size_t i = 0; i < *count; i++)
                s_free_value(field, array + i * size, true);
        free(array);
        *(void **)member = NULL;
        *count = 0;
        return 0;
    }
    s_free_value(field, member, false);
    void *fresh = malloc(msg->descriptor->sizeof_message);
    if (!fresh)
        return -1;
    protobuf_c_message_init(msg->descriptor, fresh);
    memcpy(member, (char *)fresh + field->offset, pbjson_value_size(field->type));
    if (pbjson_has_presence_flag(field))
        memcpy(pbjson_member(msg, field->quantifier_offset), (char *)fresh + field->quantifier_offset,
               sizeof(protobuf_c_boolean));
    free(fresh); /* holds only static defaults: nothing inside to free */
    return 0;
}

/* ---- decoding ---- */

typedef struct {
    pbjson_limits limits;
    pbjson_error *err;
    char path[sizeof(((pbjson_error *)0)->path)];
    size_t path_len;
    size_t depth;   /* JSON containers entered so far */
    bool from_text; /* pbjson_set_from_text: numbers and booleans arrive as text */
} s_ctx;

/* Copies at most max bytes of src (cut on a UTF-8 boundary) to dst of size dst_size. */
static void s_copy_text(char *dst, size_t dst_size, const char *src, size_t src_len)
{
    size_t n = utf8_prefix(src, src_len, dst_size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void s_error_set(pbjson_error *err, const char *path, const char *fmt, va_list ap)
{
    if (!err)
        return;
    char message[sizeof err->message * 2];
    vsnprintf(message, sizeof message, fmt, ap);
    s_copy_text(err->path, sizeof err->path, path, strlen(path));
    s_copy_text(err->message, sizeof err->message, message, strlen(message));
}

static int s_fail(s_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_error_set(ctx->err, ctx->path, fmt, ap);
    va_end(ap);
    return -1;
}

static size_t s_path_push_name(s_ctx *ctx, const char *name)
{
    size_t saved = ctx->path_len;
    char joined[sizeof ctx->path * 2];
    int n = snprintf(joined, sizeof joined, "%s%s%s", ctx->path, ctx->path_len ? "." : "", name);
    if (n < 0)
        return saved;
    s_copy_text(ctx->path, sizeof ctx->path, joined, strlen(joined));
    ctx->path_len = strlen(ctx->path);
    return saved;
}

static size_t s_path_push_index(s_ctx *ctx, size_t index)
{
    size_t saved = ctx->path_len;
    char joined[sizeof ctx->path + 32];
    snprintf(joined, sizeof joined, "%s[%zu]", ctx->path, index);
    s_copy_text(ctx->path, sizeof ctx->path, joined, strlen(joined));
    ctx->path_len = strlen(ctx->path);
    return saved;
}

static void s_path_pop(s_ctx *ctx, size_t saved)
{
    ctx->path_len = saved;
    ctx->path[saved] = '\0';
}

static int s_fail_depth(s_ctx *ctx)
{
    return s_fail(ctx, "слишком глубокая вложенность JSON (допустимо не больше %zu уровней)", ctx->limits.max_depth);
}

static int s_fail_memory(s_ctx *ctx)
{
    return s_fail(ctx, "недостаточно памяти");
}

/* A client's value for an error message: quoted, shortened, only when it is valid UTF-8. */
static void s_quote(char *out, size_t size, const char *value, size_t len)
{
    if (utf8_invalid_at(value, len) != len || memchr(value, '\0', len)) {
        snprintf(out, size, "(не текст)");
        return;
    }
    size_t n = utf8_prefix(value, len, S_QUOTE_MAX_BYTES);
    snprintf(out, size, "«%.*s%s»", (int)n, value, n < len ? "…" : "");
}

static bool s_parse_decimal_text(const char *text, size_t len, bool allow_minus)
{
    size_t i = 0;
    if (allow_minus && len > 0 && text[0] == '-')
        i = 1;
    if (i == len || len - i > 20)
        return false;
    for (; i < len; i++)
        if (!s_is_digit(text[i]))
            return false;
    return true;
}

/* Signed integer in [min, max] from a JSON integer, or from a string of digits when strings are
 * allowed (64-bit fields, and every field in text mode). */
static int s_get_signed(s_ctx *ctx, const json_t *value, bool allow_string, int64_t min, int64_t max, int64_t *out)
{
    int64_t v;
    if (json_is_integer(value)) {
        v = (int64_t)json_integer_value(value);
    } else if (json_is_string(value) && (allow_string || ctx->from_text)) {
        const char *text = json_string_value(value);
        size_t len = json_string_length(value);
        if (!s_parse_decimal_text(text, len, true))
            return s_fail(ctx, "ожидается целое число (десятичные цифры)");
        errno = 0;
        long long parsed = strtoll(text, NULL, 10);
        if (errno == ERANGE)
            return s_fail(ctx, "число вне допустимого диапазона: от %" PRId64 " до %" PRId64, min, max);
        v = (int64_t)parsed;
    } else {
        return s_fail(ctx, allow_string ? "ожидается целое число (число или строка из цифр)" : "ожидается целое число");
    }
    if (v < min || v > max)
        return s_fail(ctx, "число вне допустимого диапазона: от %" PRId64 " до %" PRId64, min, max);
    *out = v;
    return 0;
}

static int s_get_unsigned(s_ctx *ctx, const json_t *value, bool allow_string, uint64_t max, uint64_t *out)
{
    uint64_t v;
    if (json_is_integer(value)) {
        json_int_t i = json_integer_value(value);
        if (i < 0)
            return s_fail(ctx, "число вне допустимого диапазона: от 0 до %" PRIu64, max);
        v = (uint64_t)i;
    } else if (json_is_string(value) && (allow_string || ctx->from_text)) {
        const char *text = json_string_value(value);
        size_t len = json_string_length(value);
        if (!s_parse_decimal_text(text, len, false))
            return s_fail(ctx, "ожидается целое неотрицательное число (десятичные цифры)");
        errno = 0;
        unsigned long long parsed = strtoull(text, NULL, 10);
        if (errno == ERANGE)
            return s_fail(ctx, "число вне допустимого диапазона: от 0 до %" PRIu64, max);
        v = (uint64_t)parsed;
    } else {
        return s_fail(ctx, allow_string ? "ожидается целое число (число или строка из цифр)" : "ожидается целое число");
    }
    if (v > max)
        return s_fail(ctx, "число вне допустимого диапазона: от 0 до %" PRIu64, max);
    *out = v;
    return 0;
}

static int s_get_double(s_ctx *ctx, const json_t *value, bool is_float, double *out)
{
    double v;
    if (json_is_number(value)) {
        v = json_number_value(value);
    } else if (json_is_string(value)) {
        const char *text = json_string_value(value);
        size_t len = json_string_length(value);
        if (strcmp(text, "NaN") == 0) {
            v = NAN;
        } else if (strcmp(text, "Infinity") == 0) {
            v = INFINITY;
        } else if (strcmp(text, "-Infinity") == 0) {
            v = -INFINITY;
        } else if (ctx->from_text && len > 0 && len < 64 && !memchr(text, '\0', len)) {
            char *end = NULL;
            errno = 0;
            v = strtod(text, &end);
            if (*end != '\0' || !isfinite(v) || (text[0] != '-' && !s_is_digit(text[0])))
                return s_fail(ctx, "ожидается число");
        } else {
            return s_fail(ctx, "ожидается число");
        }
    } else {
        return s_fail(ctx, "ожидается число");
    }
    if (is_float && isfinite(v) && fabs(v) > FLT_MAX)
        return s_fail(ctx, "число вне допустимого диапазона float");
    *out = v;
    return 0;
}

/* Checks a JSON string against the limits: valid UTF-8 (jansson guarantees it for parsed text,
 * pbjson_set_from_text checks itself), length, no NUL. */
static int s_get_string(s_ctx *ctx, const json_t *value, const char **text, size_t *len)
{
    if (!json_is_string(value))
        return s_fail(ctx, "ожидается строка");
    *text = json_string_value(value);
    *len = json_string_length(value);
    if (*len > ctx->limits.max_string_bytes)
        return s_fail(ctx, "строка длиннее %zu байт", ctx->limits.max_string_bytes);
    if (memchr(*text, '\0', *len))
        return s_fail(ctx, "строка содержит недопустимый символ \\u0000");
    return 0;
}

bool pbjson_enum_word_is_first(const ProtobufCEnumDescriptor *desc, unsigned i, const char *w)
{
    if (!w)
        return false;
    for (unsigned j = 0; j < i; j++)
        if (pbjson_enum_word(desc, desc->values[j].value) == w)
            return false;
    return true;
}

static int s_get_enum(s_ctx *ctx, const ProtobufCEnumDescriptor *desc, const json_t *value, int *out)
{
    if (!json_is_string(value))
        return s_fail(ctx, "ожидается строка (одно из значений перечисления)");
    const char *word = json_string_value(value);
    size_t len = json_string_length(value);
    if (len <= S_QUOTE_MAX_BYTES && !memchr(word, '\0', len) && pbjson_enum_parse(desc, word, out))
        return 0;
    char allowed[sizeof ctx->err->message];
    size_t used = 0;
    allowed[0] = '\0';
    for (unsigned i = 0; i < desc->n_values; i++) {
        const char *w = pbjson_enum_word(desc, desc->values[i].value);
        if (!pbjson_enum_word_is_first(desc, i, w))
            continue;
        int n = snprintf(allowed + used, sizeof allowed - used, "%s%s", used ? ", " : "", w);
        if (n < 0 || (size_t)n >= sizeof allowed - used) {
            allowed[used] = '\0';
            break;
        }
        used += (size_t)n;
    }
    char quoted[S_QUOTE_MAX_BYTES + 16];
    s_quote(quoted, sizeof quoted, word, len);
    return s_fail(ctx, "недопустимое значение %s; допустимые значения: %s", quoted, allowed);
}

static int s_merge_message(s_ctx *ctx, ProtobufCMessage *msg, const json_t *object);

/* Stores value into slot, a singular member or a fresh (zeroed) repeated element of field. */
static int s_set_value(s_ctx *ctx, const ProtobufCFieldDescriptor *field, void *slot, const json_t *value, bool element)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: {
        int64_t v;
        if (s_get_signed(ctx, value, false, INT32_MIN, INT32_MAX, &v))
            return -1;
        *(int32_t *)slot = (int32_t)v;
        return 0;
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
        int64_t v;
        if (s_get_signed(ctx, value, true, INT64_MIN, INT64_MAX, &v))
            return -1;
        *(int64_t *)slot = v;
        return 0;
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: {
        uint64_t v;
        if (s_get_unsigned(ctx, value, false, UINT32_MAX, &v))
            return -1;
        *(uint32_t *)slot = (uint32_t)v;
        return 0;
    }
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t v;
        if (s_get_unsigned(ctx, value, true, UINT64_MAX, &v))
            return -1;
        *(uint64_t *)slot = v;
        return 0;
    }
    case PROTOBUF_C_TYPE_FLOAT: {
        double v;
        if (s_get_double(ctx, value, true, &v))
            return -1;
        *(float *)slot = (float)v;
        return 0;
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        double v;
        if (s_get_double(ctx, value, false, &v))
            return -1;
        *(double *)slot = v;
        return 0;
    }
    case PROTOBUF_C_TYPE_BOOL: {
        bool v;
        if (json_is_boolean(value)) {
            v = json_is_true(value);
        } else if (ctx->from_text && json_is_string(value) && strcmp(json_string_value(value), "true") == 0) {
            v = true;
        } else if (ctx->from_text && json_is_string(value) && strcmp(json_string_value(value), "false") == 0) {
            v = false;
        } else {
            return s_fail(ctx, "ожидается true или false");
        }
        *(protobuf_c_boolean *)slot = v;
        return 0;
    }
    case PROTOBUF_C_TYPE_ENUM: {
        int v = 0;
        if (s_get_enum(ctx, field->descriptor, value, &v))
            return -1;
        *(int *)slot = v;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *text = NULL;
        size_t len = 0;
        if (s_get_string(ctx, value, &text, &len))
            return -1;
        char *copy = malloc(len + 1);
        if (!copy)
            return s_fail_memory(ctx);
        memcpy(copy, text, len + 1);
        s_free_value(field, slot, element);
        *(char **)slot = copy;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        if (!json_is_string(value))
            return s_fail(ctx, "ожидается строка в base64");
        const char *text = json_string_value(value);
        size_t len = json_string_length(value);
        if (len > ctx->limits.max_string_bytes)
            return s_fail(ctx, "строка длиннее %zu байт", ctx->limits.max_string_bytes);
        uint8_t *data;
        size_t data_len;
        int rc = s_base64_decode(text, len, &data, &data_len);
        if (rc == -2)
            return s_fail_memory(ctx);
        if (rc != 0)
            return s_fail(ctx, "ожидается строка в base64");
        s_free_value(field, slot, element);
        ((ProtobufCBinaryData *)slot)->data = data;
        ((ProtobufCBinaryData *)slot)->len = data_len;
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        if (ctx->from_text)
            return s_fail(ctx, "поле-объект нельзя задать текстом");
        if (!json_is_object(value))
            return s_fail(ctx, "ожидается объект");
        ProtobufCMessage **sub = slot;
        if (!*sub || (!element && *sub == field->default_value)) {
            const ProtobufCMessageDescriptor *desc = field->descriptor;
            ProtobufCMessage *fresh = malloc(desc->sizeof_message);
            if (!fresh)
                return s_fail_memory(ctx);
            protobuf_c_message_init(desc, fresh);
            *sub = fresh;
        }
        return s_merge_message(ctx, *sub, value);
    }
    }
    return s_fail(ctx, "неподдерживаемый тип поля");
}

static int s_set_field(s_ctx *ctx, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field, const json_t *value)
{
    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return s_fail(ctx, "поля oneof не поддерживаются");
    if (s_is_map(msg->descriptor, field))
        return s_fail(ctx, "поля map не поддерживаются");
    if (json_is_null(value))
        return s_reset_field(msg, field) ? s_fail_memory(ctx) : 0;
    void *member = pbjson_member(msg, field->offset);
    if (field->label != PROTOBUF_C_LABEL_REPEATED) {
        if (s_set_value(ctx, field, member, value, false))
            return -1;
        if (pbjson_has_presence_flag(field))
            *(protobuf_c_boolean *)pbjson_member(msg, field->quantifier_offset) = 1;
        return 0;
    }
    if (!json_is_array(value))
        return s_fail(ctx, "ожидается массив");
    size_t n = json_array_size(value);
    if (n > ctx->limits.max_array_items)
        return s_fail(ctx, "в массиве больше %zu элементов", ctx->limits.max_array_items);
    if (ctx->depth + 1 > ctx->limits.max_depth)
        return s_fail_depth(ctx);
    s_reset_field(msg, field); /* repeated: frees, never allocates */
    if (n == 0)
        return 0;
    size_t size = pbjson_value_size(field->type);
    char *array = calloc(n, size);
    if (!array)
        return s_fail_memory(ctx);
    size_t *count = pbjson_member(msg, field->quantifier_offset);
    *(void **)member = array;
    ctx->depth++;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t saved = s_path_push_index(ctx, i);
        const json_t *item = json_array_get(value, i);
        if (json_is_null(item)) {
            rc = s_fail(ctx, "элемент массива не может быть null");
        } else if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
            /* count the element once it is a valid empty message, before filling it */
            if (!json_is_object(item)) {
                rc = s_fail(ctx, "ожидается объект");
            } else {
                const ProtobufCMessageDescriptor *desc = field->descriptor;
                ProtobufCMessage *fresh = malloc(desc->sizeof_message);
                if (!fresh) {
                    rc = s_fail_memory(ctx);
                } else {
                    protobuf_c_message_init(desc, fresh);
                    ((ProtobufCMessage **)array)[i] = fresh;
                    *count = i + 1;
                    rc = s_merge_message(ctx, fresh, item);
                }
            }
        } else {
            rc = s_set_value(ctx, field, array + i * size, item, true);
            if (rc == 0)
                *count = i + 1;
        }
        s_path_pop(ctx, saved);
    }
    ctx->depth--;
    return rc;
}

static int s_merge_message(s_ctx *ctx, ProtobufCMessage *msg, const json_t *object)
{
    if (!json_is_object(object))
        return s_fail(ctx, "ожидается объект");
    if (ctx->depth + 1 > ctx->limits.max_depth)
        return s_fail_depth(ctx);
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    /* a field named twice (by its JSON and its proto name) is refused like a duplicate key */
    unsigned char *seen = calloc(desc->n_fields ? desc->n_fields : 1, 1);
    if (!seen)
        return s_fail_memory(ctx);
    ctx->depth++;
    int rc = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)object, key, value)
    {
        size_t saved = s_path_push_name(ctx, key);
        const ProtobufCFieldDescriptor *field = pbjson_find_field(desc, key);
        if (!field) {
            rc = s_fail(ctx, "неизвестное поле");
        } else if (seen[field - desc->fields]) {
            rc = s_fail(ctx, "поле задано дважды");
        } else {
            seen[field - desc->fields] = 1;
            rc = s_set_field(ctx, msg, field, value);
        }
        s_path_pop(ctx, saved);
        if (rc)
            break;
    }
    ctx->depth--;
    free(seen);
    return rc;
}

void pbjson_limits_default(pbjson_limits *limits)
{
    limits->max_depth = S_DEFAULT_MAX_DEPTH;
    limits->max_string_bytes = S_DEFAULT_MAX_STRING_BYTES;
    limits->max_array_items = S_DEFAULT_MAX_ARRAY_ITEMS;
}

/* limits NULL, or any zero field in it, means the default. */
static void s_ctx_init(s_ctx *ctx, const pbjson_limits *limits, const char *path_prefix, pbjson_error *err)
{
    memset(ctx, 0, sizeof *ctx);
    pbjson_limits_default(&ctx->limits);
    if (limits) {
        if (limits->max_depth)
            ctx->limits.max_depth = limits->max_depth;
        if (limits->max_string_bytes)
            ctx->limits.max_string_bytes = limits->max_string_bytes;
        if (limits->max_array_items)
            ctx->limits.max_array_items = limits->max_array_items;
    }
    ctx->err = err;
    if (path_prefix)
        s_copy_text(ctx->path, sizeof ctx->path, path_prefix, strlen(path_prefix));
    ctx->path_len = strlen(ctx->path);
    if (err) {
        err->path[0] = '\0';
        err->message[0] = '\0';
    }
}

int pbjson_merge_object(ProtobufCMessage *msg, const json_t *object, const char *path_prefix,
                        const pbjson_limits *limits, pbjson_error *err)
{
    s_ctx ctx;
    s_ctx_init(&ctx, limits, path_prefix, err);
    if (!msg || !msg->descriptor) {
        s_fail(&ctx, "нет сообщения для заполнения");
        return -1;
    }
    return s_merge_message(&ctx, msg, object) ? -1 : 0;
}

/* Container depth of JSON text, stopping as soon as it exceeds max (then returns max + 1). */
static size_t s_text_depth(const char *text, size_t len, size_t max)
{
    size_t depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > deepest)
                deepest = depth;
            if (deepest > max)
                return deepest;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return deepest;
}

static bool s_is_blank(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
            return false;
    return true;
}

static void s_parse_error(s_ctx *ctx, const json_error_t *error)
{
    switch (json_error_code(error)) {
    case json_error_invalid_utf8:
        s_fail(ctx, "текст не в кодировке UTF-8");
        break;
    case json_error_duplicate_key:
        s_fail(ctx, "ключ повторяется в объекте (строка %d, позиция %d)", error->line, error->column);
        break;
    case json_error_premature_end_of_input:
        s_fail(ctx, "JSON оборван: текст закончился раньше времени");
        break;
    case json_error_end_of_input_expected:
        s_fail(ctx, "после JSON лишний текст (строка %d, позиция %d)", error->line, error->column);
        break;
    case json_error_numeric_overflow:
        s_fail(ctx, "число вне допустимого диапазона (строка %d, позиция %d)", error->line, error->column);
        break;
    case json_error_null_character:
    case json_error_null_byte_in_key:
        s_fail(ctx, "недопустимый символ \\u0000 (строка %d, позиция %d)", error->line, error->column);
        break;
    case json_error_stack_overflow:
        s_fail_depth(ctx);
        break;
    case json_error_out_of_memory:
        s_fail_memory(ctx);
        break;
    default:
        s_fail(ctx, "ошибка синтаксиса JSON (строка %d, позиция %d)", error->line, error->column);
        break;
    }
}

/* The checks and the parse of a JSON text, errors into ctx. */
static json_t *s_parse_object(s_ctx *ctx, const char *json, size_t len)
{
    if (!json || s_is_blank(json, len)) {
        s_fail(ctx, "пустой документ: ожидается объект JSON");
        return NULL;
    }
    size_t bad = utf8_invalid_at(json, len);
    if (bad != len) {
        s_fail(ctx, "текст не в кодировке UTF-8 (байт %zu)", bad);
        return NULL;
    }
    if (s_text_depth(json, len, ctx->limits.max_depth) > ctx->limits.max_depth) {
        s_fail_depth(ctx);
        return NULL;
    }
    json_error_t error;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY, &error);
    if (!root) {
        s_parse_error(ctx, &error);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        s_fail(ctx, "ожидается объект JSON");
        return NULL;
    }
    return root;
}

json_t *pbjson_parse_object(const char *json, size_t len, const pbjson_limits *limits, pbjson_error *err)
{
    s_ctx ctx;
    s_ctx_init(&ctx, limits, "", err);
    return s_parse_object(&ctx, json, len);
}

ProtobufCMessage *pbjson_decode(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                                const pbjson_limits *limits, pbjson_error *err)
{
    s_ctx ctx;
    s_ctx_init(&ctx, limits, "", err);
    if (!desc) {
        s_fail(&ctx, "нет описания сообщения");
        return NULL;
    }
    json_t *root = s_parse_object(&ctx, json, len);
    if (!root)
        return NULL;
    ProtobufCMessage *msg = malloc(desc->sizeof_message);
    if (!msg) {
        json_decref(root);
        s_fail_memory(&ctx);
        return NULL;
    }
    protobuf_c_message_init(desc, msg);
    int rc = s_merge_message(&ctx, msg, root);
    json_decref(root);
    if (rc) {
        protobuf_c_message_free_unpacked(msg, NULL);
        return NULL;
    }
    return msg;
}

int pbjson_set_from_text(ProtobufCMessage *msg, const char *name, const char *text, pbjson_error *err)
{
    s_ctx ctx;
    s_ctx_init(&ctx, NULL, name ? name : "", err);
    ctx.from_text = true;
    if (!msg || !msg->descriptor || !name || !text)
        return s_fail(&ctx, "нет поля или значения");
    const ProtobufCFieldDescriptor *field = pbjson_find_field(msg->descriptor, name);
    if (!field)
        return s_fail(&ctx, "неизвестное поле");
    if (field->type == PROTOBUF_C_TYPE_MESSAGE)
        return s_fail(&ctx, "поле-объект нельзя задать текстом");
    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return s_fail(&ctx, "поля oneof не поддерживаются");
    size_t len = strlen(text);
    if (utf8_invalid_at(text, len) != len)
        return s_fail(&ctx, "текст не в кодировке UTF-8");
    json_t *value = json_stringn_nocheck(text, len);
    if (!value)
        return s_fail_memory(&ctx);
    int rc;
    if (field->label != PROTOBUF_C_LABEL_REPEATED) {
        rc = s_set_value(&ctx, field, pbjson_member(msg, field->offset), value, false);
        if (rc == 0 && pbjson_has_presence_flag(field))
            *(protobuf_c_boolean *)pbjson_member(msg, field->quantifier_offset) = 1;
    } else {
        size_t *count = pbjson_member(msg, field->quantifier_offset);
        void **member = pbjson_member(msg, field->offset);
        size_t size = pbjson_value_size(field->type);
        if (*count + 1 > ctx.limits.max_array_items) {
            rc = s_fail(&ctx, "в массиве больше %zu элементов", ctx.limits.max_array_items);
        } else {
            char *array = realloc(*member, (*count + 1) * size);
            if (!array) {
                rc = s_fail_memory(&ctx);
            } else {
                *member = array;
                memset(array + *count * size, 0, size);
                rc = s_set_value(&ctx, field, array + *count * size, value, true);
                if (rc == 0)
                    (*count)++;
            }
        }
    }
    json_decref(value);
    return rc ? -1 : 0;
}
