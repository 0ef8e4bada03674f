/* notify_sign — the Standard Webhooks signature (https://www.standardwebhooks.com/): the secret
 * "whsec_<base64>", the signed content "<msg id>.<unix seconds>.<body>", HMAC-SHA256 with libsodium,
 * the header value "v1,<base64>". Also the one rule for an address webhooks may not reach. Pure
 * functions: tests/unit/test_notify_sign.c checks them against the spec's vectors. */
#ifndef METODNET_NOTIFY_SIGN_H
#define METODNET_NOTIFY_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NOTIFY_SECRET_MAX    96 /* "whsec_" + base64 of up to 64 bytes */
#define NOTIFY_SIGNATURE_MAX 64 /* "v1," + base64 of 32 bytes */

/* A new secret "whsec_<base64 of 24 random bytes>" into out (size ≥ NOTIFY_SECRET_MAX). */
void notify_secret_new(char *out, size_t size);

/* "v1,<base64 HMAC-SHA256 of msg_id.timestamp.body>" into out (size ≥ NOTIFY_SIGNATURE_MAX). Returns
 * 0, or -1 when the secret is not "whsec_" + base64 (or bare base64) of 1..64 bytes. */
int notify_sign(const char *secret, const char *msg_id, int64_t timestamp, const char *body, size_t body_len, char *out,
                size_t size);

/* Whether an address is private, loopback, link-local, unspecified or multicast (IPv4, IPv6 and
 * IPv4-mapped IPv6): webhooks may not reach them unless METODNET_WEBHOOK_ALLOW_PRIVATE=1. */
bool notify_address_private(const struct sockaddr *addr);

/* Whether url is a webhook URL we accept: http:// or https://, a host, no spaces or control bytes,
 * no user:password, at most 2000 bytes. When the host is an IP literal and !allow_private, it must not
 * be private (the resolved address is checked again at every delivery). */
bool notify_url_valid(const char *url, bool allow_private);

#endif
