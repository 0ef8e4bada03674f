/* idempotency — Idempotency-Key on POST (IETF draft semantics), records in Redis under
 * "gw:idem:<user id>:<key>":
 *   pending  {"state":"pending","fingerprint":…}            TTL = request timeout + 5 s
 *   done     {"state":"done","fingerprint":…,"status":201,"body":…,"etag":…,"location":…}  TTL 24 h
 * The fingerprint is SHA-256 (libsodium) over method, path and body. The first request takes the key
 * with SET NX (in one Lua script that otherwise returns the existing record); a retry with the same
 * fingerprint replays the stored reply, a different fingerprint is refused (422), a key still pending
 * is refused (409). Only 2xx and 4xx other than 409/429 are stored; otherwise the pending record is
 * deleted so a retry can run.
 */
#ifndef METODNET_GATEWAY_IDEMPOTENCY_H
#define METODNET_GATEWAY_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis_link.h"

#define IDEMPOTENCY_KEY_PREFIX      "gw:idem:"
#define IDEMPOTENCY_TTL_MS          (24u * 3600u * 1000u)
#define IDEMPOTENCY_FINGERPRINT_HEX 65

typedef struct gateway_idempotency gateway_idempotency;

typedef enum {
    IDEMPOTENCY_PROCEED = 0,     /* the key is ours now: run the request, then idempotency_complete() */
    IDEMPOTENCY_REPLAY = 1,      /* a stored reply exists for the same request */
    IDEMPOTENCY_IN_PROGRESS = 2, /* the first request with this key is still running → 409 */
    IDEMPOTENCY_MISMATCH = 3,    /* the key was used with a different request → 422 */
    IDEMPOTENCY_UNAVAILABLE = 4, /* Redis did not answer or answered nonsense → 503 */
} idempotency_outcome;

typedef struct {
    int status;
    const char *body; /* borrowed for the duration of the callback */
    size_t body_len;
    const char *etag;     /* "" when none */
    const char *location; /* "" when none */
} idempotency_reply;

/* stored is non-NULL only for IDEMPOTENCY_REPLAY. */
typedef void (*idempotency_begin_cb)(idempotency_outcome outcome, const idempotency_reply *stored, void *ud);

/* link is borrowed and must outlive the object. */
gateway_idempotency *gateway_idempotency_new(redis_link *link, uint32_t request_timeout_ms);
/* The Lua sources of the idempotency scripts (n of them), for tests/unit/test_redis_acl.c, which checks
 * each command they call against the gateway's user in ops/redis-acl.conf. */
const char *const *gateway_idempotency_lua_scripts(size_t *n);
void gateway_idempotency_destroy(gateway_idempotency **idem);

/* 1..128 printable ASCII characters (0x20..0x7E). */
bool idempotency_key_valid(const char *key, size_t len);

/* Hex SHA-256 of method, path (with query) and body into out (IDEMPOTENCY_FINGERPRINT_HEX bytes). */
void idempotency_fingerprint(const char *method, size_t method_len, const char *path, size_t path_len, const char *body,
                             size_t body_len, char out[IDEMPOTENCY_FINGERPRINT_HEX]);

/* "gw:idem:<user_id>:<key>"; caller free()s. */
char *idempotency_redis_key(const char *user_id, const char *key, size_t key_len);

/* Takes the key or reads its record. cb is called exactly once, later, unless this returns -1 (the
 * link is closing; cb not called). ud must stay valid until cb. */
int idempotency_begin(gateway_idempotency *idem, const char *redis_key, const char *fingerprint,
                      idempotency_begin_cb cb, void *ud);

/* Whether a reply with this HTTP status is kept for replay. */
bool idempotency_should_store(int status);

/* Stores the final reply (when idempotency_should_store(reply->status)) or deletes the pending
 * record. Fire-and-forget: a failure is logged; the pending record then expires on its own. */
void idempotency_complete(gateway_idempotency *idem, const char *redis_key, const char *fingerprint,
                          const idempotency_reply *reply);

/* Parses a stored record (exposed for tests). Returns the outcome it implies for fingerprint;
 * fills *stored (pointing into *doc, which the caller json_decref()s) for IDEMPOTENCY_REPLAY. */
struct json_t;
idempotency_outcome idempotency_parse_record(const char *text, size_t len, const char *fingerprint,
                                             idempotency_reply *stored, struct json_t **doc);

#endif
