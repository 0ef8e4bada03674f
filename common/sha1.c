/* sha1 — a small SHA-1 (FIPS 180-4) for naming Lua scripts (EVALSHA); see sha1.h. */
#include "sha1.h"

#include <string.h>

static uint32_t s_rotl(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static void s_compress(uint32_t state[5], const uint8_t block[64])
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 | (uint32_t)block[4 * i + 2] << 8 |
               (uint32_t)block[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = s_rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);

    uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999u;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1u;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdcu;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6u;
        }
        uint32_t t = s_rotl(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = s_rotl(b, 30);
        b = a;
        a = t;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
}

void sha1_init(sha1_context *context)
{
    static const uint32_t initial[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u, 0xc3d2e1f0u};
    memcpy(context->state, initial, sizeof initial);
    context->length = 0;
    context->block_used = 0;
}

void sha1_update(sha1_context *context, const void *data, size_t len)
{
    const uint8_t *p = data;
    context->length += len;
    while (len > 0) {
        size_t take = 64 - context->block_used;
        if (take > len)
            take = len;
        memcpy(context->block + context->block_used, p, take);
        context->block_used += take;
        p += take;
        len -= take;
        if (context->block_used == 64) {
            s_compress(context->state, context->block);
            context->block_used = 0;
        }
    }
}

void sha1_final(sha1_context *context, uint8_t digest[20])
{
    uint64_t bits = context->length * 8;
    uint8_t pad = 0x80;
    uint8_t zero = 0;
    /* sha1_update counts bytes; the length was captured before padding. */
    sha1_update(context, &pad, 1);
    while (context->block_used != 56)
        sha1_update(context, &zero, 1);
    uint8_t length_be[8];
    for (int i = 0; i < 8; i++)
        length_be[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha1_update(context, length_be, 8);
    for (int i = 0; i < 5; i++) {
        digest[4 * i] = (uint8_t)(context->state[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(context->state[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(context->state[i] >> 8);
        digest[4 * i + 3] = (uint8_t)context->state[i];
    }
}

void sha1_hex(const void *data, size_t len, char hex[41])
{
    static const char digits[] = "0123456789abcdef";
    sha1_context context;
    uint8_t digest[20];
    sha1_init(&context);
    sha1_update(&context, data, len);
    sha1_final(&context, digest);
    for (int i = 0; i < 20; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[40] = '\0';
}
