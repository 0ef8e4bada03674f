/* pbjson — JSON ⇄ protobuf-c messages, generically from the message descriptors (ProtoJSON rules):
 *  - JSON names are lowerCamelCase of the proto field names (organization_ids → organizationIds);
 *  - 64-bit integers are JSON strings ("version":"3"); on input a string or an integer is accepted;
 *  - enum values are lowercase words: the value name without the enum's UPPER_SNAKE prefix
 *    (STAFF_CATEGORY_TEACHER → "teacher"); value 0 (*_UNSPECIFIED) is written as null;
 *  - bytes are base64; every field is written, also when it holds its default.
 * Decoding is strict: unknown fields, wrong types, out-of-range numbers, invalid UTF-8, strings
 * longer than the limit and nesting deeper than the limit are refused with the field's JSON path
 * (e.g. "staff.subjects[2]") and a Russian message. JSON null leaves a field at its default.
 * Decoding details:
 *  - a field may be named by its JSON name or by its exact proto name (organization_ids), not both
 *    in one object (refused like a duplicate key); other spellings are unknown fields;
 *  - int32/uint32 fields take JSON integers only; 64-bit ones a JSON integer or a string of digits;
 *    float/double take numbers and "NaN", "Infinity", "-Infinity"; bytes take standard or URL-safe
 *    base64, padding optional; enums take their word only (not numbers, not "unspecified");
 *  - null sets a field back to its default (the value protobuf_c_message_init() gives);
 *  - an array replaces a repeated field's content; an object merges into an existing sub-message;
 *    elements of arrays may not be null;
 *  - oneof and map fields are refused with an error (not supported).
 *
 * Messages built here use protobuf-c's default allocator, so protobuf_c_message_free_unpacked()
 * frees them.
 */
#ifndef METODNET_PBJSON_H
#define METODNET_PBJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

typedef struct {
    char path[256];    /* JSON path of the offending field, "" for the document itself */
    char message[512]; /* Russian, for a person */
} pbjson_error;

typedef struct {
    size_t max_depth;        /* default 32 */
    size_t max_string_bytes; /* default 65536 */
    size_t max_array_items;  /* default 10000 */
} pbjson_limits;             /* a field left 0 means its default */

void pbjson_limits_default(pbjson_limits *limits);

/* Parses JSON text (must be an object) into a new message of desc. limits NULL = defaults.
 * Returns NULL and fills err on any error. Caller frees with protobuf_c_message_free_unpacked. */
ProtobufCMessage *pbjson_decode(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                                const pbjson_limits *limits, pbjson_error *err);

/* The JSON text parsed as pbjson_decode() does it (UTF-8, depth and duplicate keys checked, Russian
 * errors with their line and column), for a caller that merges the object itself: a new reference,
 * or NULL with err filled when the text is not one JSON object. */
json_t *pbjson_parse_object(const char *json, size_t len, const pbjson_limits *limits, pbjson_error *err);

/* Merges a parsed JSON object into msg (already initialised). path_prefix ("" or e.g. "staff") is
 * put before field paths in errors. Returns 0, or -1 with err filled (msg may be partly set). */
int pbjson_merge_object(ProtobufCMessage *msg, const json_t *object, const char *path_prefix,
                        const pbjson_limits *limits, pbjson_error *err);

/* Sets one scalar, enum or repeated-scalar field, named by its JSON or proto name, from text (for
 * path and query parameters): "true"/"false" for bool, decimal for numbers, lowercase name for
 * enums; a repeated field gets the value appended. Returns 0, or -1 with err filled (path = name).
 * Message fields cannot be set this way. Strings obey the default limits. */
int pbjson_set_from_text(ProtobufCMessage *msg, const char *name, const char *text, pbjson_error *err);

/* Finds a field by its JSON (lowerCamel) or proto name; NULL if none. */
const ProtobufCFieldDescriptor *pbjson_find_field(const ProtobufCMessageDescriptor *desc, const char *name);

/* Writes the JSON (lowerCamel) name of field into buf; returns buf. */
const char *pbjson_json_name(const ProtobufCFieldDescriptor *field, char *buf, size_t size);

/* Lowercase API word of an enum value ("teacher"); NULL for value 0 or an unknown value.
 * Returned pointer is to a static per-process cache (borrowed, valid for the process lifetime).
 * The cache is filled on first use of each enum and is not thread-safe (one thread per process). */
const char *pbjson_enum_word(const ProtobufCEnumDescriptor *desc, int value);
/* Parses an API word back; returns false when it names no value (0 is never returned as valid). */
bool pbjson_enum_parse(const ProtobufCEnumDescriptor *desc, const char *word, int *value);

/* New JSON object for msg (a new reference, caller json_decref()s). NULL when out of memory or when
 * messages nest deeper than 100 levels. An enum value unknown to this build is written as its
 * number; a stored string that is not UTF-8 has its bad bytes replaced by U+FFFD. */
json_t *pbjson_to_json(const ProtobufCMessage *msg);

/* Compact UTF-8 JSON text for msg; caller free()s. *len set when len != NULL. */
char *pbjson_encode(const ProtobufCMessage *msg, size_t *len);

/* The same text straight from a packed message of type desc (no unpack): byte for byte what
 * pbjson_encode writes for protobuf_c_message_unpack(desc, data). NULL when the bytes are not plainly
 * such a message (malformed, a group, a wire type its field does not have, a singular message twice,
 * a proto2 default, a oneof or packed numbers — proto/ has neither) or when out of memory — then unpack and use pbjson_encode (which decides). */
char *pbjson_encode_packed(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, size_t *out_len);

/* A singular field of the top-level message whose last value pbjson_encode_packed_capture hands back
 * (the gateway's ETag and Location) from the same pass. */
typedef struct {
    const ProtobufCFieldDescriptor *field; /* a field of desc; NULL = unused */
    bool found;                            /* the message carries it */
    uint64_t varint;                       /* its value, for varint types */
    const uint8_t *bytes;                  /* its value, for length-delimited ones (borrowed from data) */
    size_t len;
} pbjson_capture;

/* pbjson_encode_packed, and each capture filled in (only when the text is returned). */
char *pbjson_encode_packed_capture(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                                   size_t *out_len, pbjson_capture *captures, size_t n_captures);

/* OpenAPI 3.0 schema of desc as {"$ref":"#/components/schemas/<Name>"}; the schema of desc and of
 * every message it references is added to components_schemas (an object) under its short name
 * (a name already present is left as it is). Object schemas have additionalProperties: false; a
 * singular sub-message field is {"allOf":[{"$ref":...}],"nullable":true}, repeated ones are arrays
 * of $ref; enums are {"type":"string","enum":[words..., null],"nullable":true}; 64-bit integers
 * are strings with format int64 (uint64 for unsigned). New reference; NULL on bad arguments. */
json_t *pbjson_openapi_ref(const ProtobufCMessageDescriptor *desc, json_t *components_schemas);

/* Bytes one value of type takes in message storage (a singular member or one array element). */
size_t pbjson_value_size(ProtobufCType type);

#endif
