/* pbjson_internal — what pbjson.c and pbjson_openapi.c share (not a public API: that is pbjson.h). */
#ifndef METODNET_PBJSON_INTERNAL_H
#define METODNET_PBJSON_INTERNAL_H

#include <stdbool.h>
#include <protobuf-c/protobuf-c.h>

/* Is w (the word of value i) listed for the first time at i? False for value 0 (no word) and for
 * aliases (allow_alias) that repeat an earlier value. */
bool pbjson_enum_word_is_first(const ProtobufCEnumDescriptor *desc, unsigned i, const char *w);

#endif
