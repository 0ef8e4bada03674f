/* sha1 — a small SHA-1 (FIPS 180-4), used only to name Lua scripts for EVALSHA locally.
 * Not for security: SHA-1 is broken for collision resistance; Redis merely uses it as a script id. */
#ifndef METODNET_SHA1_H
#define METODNET_SHA1_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t state[5];
    uint64_t length; /* bytes hashed so far */
    uint8_t block[64];
    size_t block_used;
} sha1_context;

void sha1_init(sha1_context *context);
void sha1_update(sha1_context *context, const void *data, size_t len);
void sha1_final(sha1_context *context, uint8_t digest[20]);

/* One shot: 40 lowercase hex digits and a NUL into hex. */
void sha1_hex(const void *data, size_t len, char hex[41]);

#endif
