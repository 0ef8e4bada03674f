/* auth — who the caller of an HTTP request is.
 *
 * A request carries `Authorization: Bearer <token>`: a session token from POST /api/v1/auth/login
 * or an API key of a school information system. The gateway asks the auth service
 * (auth.Authenticate, through the broker) who that is and puts the returned Principal into the
 * Envelope; every service then checks object-level scope itself. Answers are cached per token (by
 * its SHA-256, never the token itself) no longer than the auth service allows (≤ 5 s), so a revoked
 * key or an ended session stops working within seconds; logout through this gateway forgets the
 * token at once. Each token also has a request budget (token bucket): past it, 429 + Retry-After.
 */
#ifndef METODNET_GATEWAY_AUTH_H
#define METODNET_GATEWAY_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "envelope.pb-c.h"
#include "mdp_broker.h"

typedef struct gateway_auth gateway_auth;
typedef struct gateway_auth_wait gateway_auth_wait;

typedef struct {
    uint32_t timeout_ms;        /* Authenticate deadline (default 2000) */
    double requests_per_second; /* per token (default 50); 0 = no limit */
    double burst;               /* per token (default 200) */
    size_t max_tokens;          /* cache entries kept (default 65536) */
} gateway_auth_options;

void gateway_auth_options_default(gateway_auth_options *options);

typedef enum {
    GATEWAY_AUTH_OK = 0,
    GATEWAY_AUTH_MISSING,      /* no (or a malformed) Authorization header: 401 */
    GATEWAY_AUTH_INVALID,      /* unknown, expired or revoked: 401 */
    GATEWAY_AUTH_RATE_LIMITED, /* 429 with retry_after_seconds */
    GATEWAY_AUTH_UNAVAILABLE,  /* the auth service did not answer: 503 */
} gateway_auth_result;

/* principal is borrowed for the call (NULL unless OK). */
typedef void (*gateway_auth_cb)(gateway_auth_result result, const Metodnet__Principal *principal,
                                uint32_t retry_after_seconds, void *ud);

/* broker is borrowed and must outlive the module. */
gateway_auth *gateway_auth_new(uv_loop_t *loop, mdp_broker *broker, const gateway_auth_options *options);
/* Answers not yet delivered get GATEWAY_AUTH_UNAVAILABLE from inside this call; those waiting for
 * the auth service were failed by mdp_broker_destroy. Run the loop afterwards (a handle closes). */
void gateway_auth_destroy(gateway_auth **auth);

/* Finds the bearer token in an Authorization header value; returns 0 and sets token/len, or -1. */
int gateway_auth_bearer(const char *authorization, size_t len, const char **token, size_t *token_len);

/* ---- the browser session (the web console) ----
 * A browser logs in with the header X-Metodnet-CSRF: the gateway then answers with the session token in
 * an HttpOnly, SameSite=Strict cookie (GATEWAY_AUTH_COOKIE) instead of in the body, and the cookie stands
 * for `Authorization: Bearer` on later requests that carry no Authorization header. A request
 * authenticated by the cookie with an unsafe method (anything but GET, HEAD, OPTIONS) must carry
 * X-Metodnet-CSRF too — another site can neither send this header without the gateway's consent (CORS)
 * nor the cookie (SameSite=Strict). Logout clears the cookie. A request with Authorization is decided by
 * that header alone, as before. */
#define GATEWAY_AUTH_COOKIE         "metodnet_session"
#define GATEWAY_AUTH_CSRF_HEADER    "x-metodnet-csrf"
#define GATEWAY_AUTH_COOKIE_MAX_AGE 28800 /* s: a session lasts at most 8 h */

/* Finds the session token in a Cookie header value ("a=1; metodnet_session=<token>"); returns 0 and
 * sets token/len, or -1 when there is none or it is malformed (same alphabet and length as a bearer token). */
int gateway_auth_cookie(const char *cookie, size_t len, const char **token, size_t *token_len);

/* The Set-Cookie value that starts (token != NULL) or ends (token NULL) the browser session; the length
 * written, or 0 when it does not fit. */
size_t gateway_auth_set_cookie(char *out, size_t size, const char *token, size_t token_len);

/* true for the methods a cookie-authenticated request may use without X-Metodnet-CSRF. */
bool gateway_auth_method_is_safe(const char *method, size_t len);

/* Decides the caller for `authorization` (the header value, NULL when absent). cb is always called
 * later, never from inside this call (also when the answer is known at once: cached, missing header,
 * rate limit — then on the next loop turn), exactly once unless gateway_auth_cancel() is called
 * first on the returned handle. NULL only when out of memory, and then cb is not called.
 * request_id is for the auth service's logs. */
gateway_auth_wait *gateway_auth_check(gateway_auth *auth, const char *authorization, size_t len, const char *request_id,
                                      gateway_auth_cb cb, void *ud);
void gateway_auth_cancel(gateway_auth_wait *wait);

/* Drops the cached answer for a token (after logout). */
void gateway_auth_forget(gateway_auth *auth, const char *token, size_t len);

/* The caller put into envelopes of public routes (login): the gateway itself. Borrowed, static. */
const Metodnet__Principal *gateway_auth_gateway_principal(void);

#endif
