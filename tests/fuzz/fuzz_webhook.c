/* fuzz_webhook — libFuzzer target for the Standard Webhooks signing of the notify service
 * (services/notify/notify_sign.c) and its webhook address rule. The input is
 * "<secret>\n<webhook-id>\n<webhook-timestamp>\n<body>\n<url>" with arbitrary bytes in each part. A
 * signature made must be "v1," + the base64 of 32 bytes and agree with a receiver's check written here
 * independently (HMAC-SHA256 over "<id>.<timestamp>.<body>" with the secret's base64-decoded key, as
 * tests/integration/notify_sink.py does it); the "whsec_" prefix is optional; a refused secret is one
 * that is not base64 of 1..64 bytes. An address allowed without private ranges is allowed with them.
 * The service itself only signs (receivers verify), so there is no verify function to fuzz in the tree.
 * Built and run by ops/fuzz, seeds in corpus/webhook/.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "notify_sign.h"

/* A broken property: says which one, then aborts (libFuzzer keeps the input). */
#define S_BROKEN(what) (fprintf(stderr, "%s\n", what), abort())

/* The next '\n'-separated part of [*p, end) as a new NUL-terminated string (NUL bytes kept inside). */
static char *s_part(const char **p, const char *end, size_t *len)
{
    const char *start = *p, *at = memchr(start, '\n', (size_t)(end - start));
    *len = (size_t)((at ? at : end) - start);
    *p = at ? at + 1 : end;
    char *copy = malloc(*len + 1);
    memcpy(copy, start, *len);
    copy[*len] = '\0';
    return copy;
}

/* What a receiver does: the expected "v1,<base64>" for this message, or false for an unusable secret. */
static bool s_receiver_expects(const char *secret, const char *id, int64_t timestamp, const char *body, size_t body_len,
                               char *out, size_t size)
{
    const char *b64 = strncmp(secret, "whsec_", 6) == 0 ? secret + 6 : secret;
    unsigned char key[64];
    size_t key_len = 0;
    if (sodium_base642bin(key, sizeof key, b64, strlen(b64), NULL, &key_len, NULL, sodium_base64_VARIANT_ORIGINAL) !=
            0 ||
        key_len == 0)
        return false;
    int n = snprintf(NULL, 0, "%s.%" PRId64 ".", id, timestamp);
    size_t signed_len = (size_t)n + body_len;
    unsigned char *content = malloc(signed_len + 1);
    snprintf((char *)content, (size_t)n + 1, "%s.%" PRId64 ".", id, timestamp);
    if (body_len)
        memcpy(content + n, body, body_len);
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, key, key_len);
    crypto_auth_hmacsha256_update(&state, content, signed_len); /* one piece, not the service's two */
    crypto_auth_hmacsha256_final(&state, mac);
    free(content);
    memcpy(out, "v1,", 3);
    sodium_bin2base64(out + 3, size - 3, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (sodium_init() < 0)
        S_BROKEN("libsodium does not start");
    const char *p = (const char *)data, *end = p + size;
    size_t secret_len, id_len, ts_len, body_len, url_len;
    char *secret = s_part(&p, end, &secret_len);
    char *id = s_part(&p, end, &id_len);
    char *ts_text = s_part(&p, end, &ts_len);
    char *body = s_part(&p, end, &body_len);
    char *url = s_part(&p, end, &url_len);
    int64_t timestamp = strtoll(ts_text, NULL, 10);

    char signature[NOTIFY_SIGNATURE_MAX], expected[NOTIFY_SIGNATURE_MAX];
    int rc = notify_sign(secret, id, timestamp, body, body_len, signature, sizeof signature);
    bool usable = s_receiver_expects(secret, id, timestamp, body, body_len, expected, sizeof expected);
    bool id_fits = strlen(id) + 24 < 160; /* the service's bound on "<id>.<timestamp>." */
    if (rc == 0) {
        if (!usable)
            S_BROKEN("a secret the receiver cannot use was accepted");
        if (strlen(signature) != 3 + 44 || strcmp(signature, expected) != 0)
            S_BROKEN("the receiver does not accept the signature");
        /* the prefix is optional: the bare base64 signs the same */
        const char *bare = strncmp(secret, "whsec_", 6) == 0 ? secret + 6 : NULL;
        char again[NOTIFY_SIGNATURE_MAX];
        if (bare && (notify_sign(bare, id, timestamp, body, body_len, again, sizeof again) != 0 ||
                     strcmp(again, signature) != 0))
            S_BROKEN("the secret without whsec_ signs otherwise");
    } else if (rc != -1 || (usable && id_fits)) {
        S_BROKEN("a usable secret was refused");
    }
    if (notify_sign(secret, id, timestamp, body, body_len, signature, NOTIFY_SIGNATURE_MAX - 1) != -1)
        S_BROKEN("a signature was written into too small a buffer");

    if (strlen(url) == url_len && notify_url_valid(url, false) && !notify_url_valid(url, true))
        S_BROKEN("an address allowed outside private ranges is refused with them");

    free(secret);
    free(id);
    free(ts_text);
    free(body);
    free(url);
    return 0;
}
