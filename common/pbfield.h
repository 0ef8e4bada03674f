/* pbfield — generic access to protobuf-c message fields by proto name, from the descriptors: what
 * lets one CRUD flow serve every entity (read its id and version, stamp timestamps, apply an
 * update_mask) instead of a hand-written copy per entity. Messages are in unpacked form (default
 * allocator), so protobuf_c_message_free_unpacked() frees what is set here.
 */
#ifndef METODNET_PBFIELD_H
#define METODNET_PBFIELD_H

#include <stdbool.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/* Borrowed string value of a singular string field; "" when unset, NULL when there is no such
 * string field. */
const char *pbfield_string(const ProtobufCMessage *msg, const char *name);
/* Replaces a singular string field with a copy of value. Returns -1 if there is no such field. */
int pbfield_set_string(ProtobufCMessage *msg, const char *name, const char *value);
/* Value of a singular int64 field (0 when absent from the descriptor). */
int64_t pbfield_int64(const ProtobufCMessage *msg, const char *name);
int pbfield_set_int64(ProtobufCMessage *msg, const char *name, int64_t value);

/* Replaces field `name` of dst with a deep copy of the same field of src (same descriptor):
 * scalars, enums, strings, bytes, sub-messages and repeated fields of any of these.
 * Returns -1 when the field does not exist. */
int pbfield_copy(ProtobufCMessage *dst, const ProtobufCMessage *src, const char *name);

/* True when msg or a message inside it holds an unknown field numbered 0: protobuf-c takes one
 * whose tag is written in two or more bytes, and writes it back in one byte, which it then refuses
 * to read — such a message could be stored but never read again (found by fuzz_mdp). */
bool pbfield_has_field_zero(const ProtobufCMessage *msg);

/* A deep copy (caller frees with protobuf_c_message_free_unpacked); never NULL (xalloc.h's policy). */
ProtobufCMessage *pbfield_clone(const ProtobufCMessage *msg);

#endif
