/* pbjson_internal — what pbjson.c, pbjson_encode.c and pbjson_openapi.c share (not a public API: that
 * is pbjson.h). */
#ifndef METODNET_PBJSON_INTERNAL_H
#define METODNET_PBJSON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/* Returns a malloc'd NUL-terminated text, or NULL when out of memory. */
char *pbjson_base64_encode(const uint8_t *data, size_t len, size_t *out_len);

/* OPTIONAL/REQUIRED scalars and bytes carry a has_ flag (proto2, proto3 `optional`). */
bool pbjson_has_presence_flag(const ProtobufCFieldDescriptor *field);

/* The member of msg at offset (a field's storage). */
void *pbjson_member(const ProtobufCMessage *msg, unsigned offset);

/* Is w (the word of value i) listed for the first time at i? False for value 0 (no word) and for
 * aliases (allow_alias) that repeat an earlier value. */
bool pbjson_enum_word_is_first(const ProtobufCEnumDescriptor *desc, unsigned i, const char *w);

/* The "<json name>": texts of a message's fields, one after another: field i is
 * text[offsets[i] .. offsets[i + 1]). */
typedef struct {
    const char *text;
    const uint32_t *offsets; /* n_fields + 1 */
} pbjson_field_names;

/* Cached for the process lifetime (single-threaded); NULL when out of memory or the cache is full
 * (then the caller writes the names itself). */
const pbjson_field_names *pbjson_field_names_of(const ProtobufCMessageDescriptor *desc);

#endif
