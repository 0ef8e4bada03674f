/* auth — bearer token → Principal through auth.Authenticate, cached and rate-limited (see auth.h).
 *
 * The cache is an open-addressing table keyed by SHA-256(token). An entry keeps the packed
 * Principal until valid_until and its token bucket longer (so a client cannot reset its budget by
 * waiting for the principal to expire). When the table is full, the entry least recently used among
 * a few probed slots is reused.
 */
#include "auth.h"

#include <ctype.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "auth.pb-c.h"
#include "clock.h"
#include "log.h"
#include "request_envelope.h"

#define S_PROBES 16
/* The cache knows a token by its keyed SipHash-2-4 (128 bits, a key drawn at start): no token is kept,
 * a collision cannot be aimed at without the key, and it costs a tenth of a SHA-256 per request. */
#define S_HASH_BYTES crypto_shorthash_siphashx24_BYTES

/* A cached principal shared by its cache entry and the answers waiting for delivery: an entry that
 * changes or goes drops its reference, the last one frees it (no copy per request). */
typedef struct {
    int refs;
    Metodnet__Principal *principal;
} s_shared_principal;

typedef struct {
    uint8_t hash[S_HASH_BYTES];
    bool used;
    s_shared_principal *principal; /* NULL when not (or no longer) valid */
    int64_t valid_until_ms;
    double bucket;
    int64_t refilled_ms;
    int64_t last_use_ms;
} s_entry;

struct gateway_auth {
    mdp_broker *broker;
    gateway_auth_options options;
    s_entry *table;
    size_t capacity;
    unsigned char hash_key[crypto_shorthash_siphashx24_KEYBYTES];
    /* answers known at once wait here for the next loop turn: every callback is asynchronous */
    uv_idle_t *idle; /* its own allocation: freed in the close callback, after the module */
    gateway_auth_wait *ready_head, *ready_tail;
};

struct gateway_auth_wait {
    gateway_auth *auth;
    mdp_pending *pending; /* asking the auth service; NULL when the answer is ready */
    uint8_t hash[S_HASH_BYTES];
    gateway_auth_cb cb;
    void *ud;
    /* a ready answer */
    gateway_auth_result result;
    s_shared_principal *principal; /* a reference (the cache entry may change before delivery) */
    uint32_t retry_after_seconds;
    bool cancelled;
    gateway_auth_wait *next;
};

static void s_token_hash(const gateway_auth *auth, const char *token, size_t len, uint8_t out[S_HASH_BYTES])
{
    crypto_shorthash_siphashx24(out, (const unsigned char *)token, len, auth->hash_key);
}

void gateway_auth_options_default(gateway_auth_options *options)
{
    options->timeout_ms = 2000;
    options->requests_per_second = 50;
    options->burst = 200;
    options->max_tokens = 65536;
}

const Metodnet__Principal *gateway_auth_gateway_principal(void)
{
    static Metodnet__Principal gateway = METODNET__PRINCIPAL__INIT;
    gateway.user_id = (char *)"gateway";
    gateway.role = METODNET__ROLE__ROLE_SYSTEM;
    gateway.scope_kind = METODNET__SCOPE_KIND__SCOPE_KIND_ALL;
    return &gateway;
}

static void s_deliver_ready(uv_idle_t *idle);

gateway_auth *gateway_auth_new(uv_loop_t *loop, mdp_broker *broker, const gateway_auth_options *options)
{
    if (sodium_init() < 0)
        return NULL;
    gateway_auth *auth = calloc(1, sizeof *auth);
    if (auth == NULL)
        return NULL;
    auth->idle = malloc(sizeof *auth->idle);
    if (auth->idle == NULL || uv_idle_init(loop, auth->idle) != 0) {
        free(auth->idle);
        free(auth);
        return NULL;
    }
    auth->idle->data = auth;
    auth->broker = broker;
    randombytes_buf(auth->hash_key, sizeof auth->hash_key);
    if (options)
        auth->options = *options;
    else
        gateway_auth_options_default(&auth->options);
    auth->capacity = auth->options.max_tokens < 64 ? 64 : auth->options.max_tokens;
    auth->table = calloc(auth->capacity, sizeof *auth->table);
    if (auth->table == NULL) {
        uv_close((uv_handle_t *)auth->idle, (uv_close_cb)free);
        free(auth);
        return NULL;
    }
    return auth;
}

static s_shared_principal *s_principal_ref(s_shared_principal *shared)
{
    shared->refs++;
    return shared;
}

static void s_principal_unref(s_shared_principal *shared)
{
    if (shared == NULL || --shared->refs > 0)
        return;
    metodnet__principal__free_unpacked(shared->principal, NULL);
    free(shared);
}

static void s_wait_free(gateway_auth_wait *wait)
{
    s_principal_unref(wait->principal);
    free(wait);
}

/* Calls back every ready answer (the list is taken first: callbacks may add to it). */
static void s_deliver_ready(uv_idle_t *idle)
{
    gateway_auth *auth = idle->data;
    gateway_auth_wait *wait = auth->ready_head;
    auth->ready_head = auth->ready_tail = NULL;
    uv_idle_stop(idle);
    while (wait) {
        gateway_auth_wait *next = wait->next;
        if (!wait->cancelled)
            wait->cb(wait->result, wait->principal ? wait->principal->principal : NULL, wait->retry_after_seconds,
                     wait->ud);
        s_wait_free(wait);
        wait = next;
    }
}

/* Queues an answer known now for the next loop turn; NULL (cb not called) when out of memory. */
static gateway_auth_wait *s_ready(gateway_auth *auth, gateway_auth_result result, s_shared_principal *principal,
                                  uint32_t retry_after_seconds, gateway_auth_cb cb, void *ud)
{
    gateway_auth_wait *wait = calloc(1, sizeof *wait);
    if (wait == NULL)
        return NULL;
    wait->auth = auth;
    wait->cb = cb;
    wait->ud = ud;
    wait->result = result;
    wait->retry_after_seconds = retry_after_seconds;
    if (principal != NULL) /* a reference: the cache entry may change before delivery */
        wait->principal = s_principal_ref(principal);
    if (auth->ready_tail)
        auth->ready_tail->next = wait;
    else
        auth->ready_head = wait;
    auth->ready_tail = wait;
    uv_idle_start(auth->idle, s_deliver_ready);
    return wait;
}

static void s_entry_clear_principal(s_entry *e)
{
    s_principal_unref(e->principal);
    e->principal = NULL;
    e->valid_until_ms = 0;
}

void gateway_auth_destroy(gateway_auth **authp)
{
    gateway_auth *auth = *authp;
    if (auth == NULL)
        return;
    /* answers not yet delivered: told now that the service is going away */
    gateway_auth_wait *wait = auth->ready_head;
    auth->ready_head = auth->ready_tail = NULL;
    while (wait) {
        gateway_auth_wait *next = wait->next;
        if (!wait->cancelled)
            wait->cb(GATEWAY_AUTH_UNAVAILABLE, NULL, 0, wait->ud);
        s_wait_free(wait);
        wait = next;
    }
    uv_close((uv_handle_t *)auth->idle, (uv_close_cb)free);
    for (size_t i = 0; i < auth->capacity; i++)
        s_entry_clear_principal(&auth->table[i]);
    free(auth->table);
    free(auth);
    *authp = NULL;
}

/* The token alphabet and length of gateway_auth_bearer. */
static bool s_token_ok(const char *t, size_t n)
{
    if (n == 0 || n > 256)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '-' && t[i] != '.')
            return false;
    return true;
}

int gateway_auth_bearer(const char *authorization, size_t len, const char **token, size_t *token_len)
{
    static const char scheme[] = "bearer ";
    if (authorization == NULL || len <= sizeof scheme - 1)
        return -1;
    for (size_t i = 0; i < sizeof scheme - 1; i++)
        if (tolower((unsigned char)authorization[i]) != scheme[i])
            return -1;
    const char *t = authorization + sizeof scheme - 1;
    size_t n = len - (sizeof scheme - 1);
    while (n > 0 && *t == ' ') {
        t++;
        n--;
    }
    while (n > 0 && t[n - 1] == ' ')
        n--;
    if (!s_token_ok(t, n))
        return -1;
    *token = t;
    *token_len = n;
    return 0;
}

int gateway_auth_cookie(const char *cookie, size_t len, const char **token, size_t *token_len)
{
    static const char name[] = GATEWAY_AUTH_COOKIE "=";
    size_t i = 0;
    while (cookie != NULL && i < len) {
        while (i < len && (cookie[i] == ' ' || cookie[i] == ';' || cookie[i] == '\t'))
            i++;
        size_t start = i;
        while (i < len && cookie[i] != ';')
            i++;
        size_t n = i - start;
        while (n > 0 && (cookie[start + n - 1] == ' ' || cookie[start + n - 1] == '\t'))
            n--;
        if (n > sizeof name - 1 && memcmp(cookie + start, name, sizeof name - 1) == 0) {
            const char *t = cookie + start + sizeof name - 1;
            size_t tn = n - (sizeof name - 1);
            if (!s_token_ok(t, tn))
                return -1;
            *token = t;
            *token_len = tn;
            return 0;
        }
    }
    return -1;
}

size_t gateway_auth_set_cookie(char *out, size_t size, const char *token, size_t token_len)
{
    int n;
    if (token != NULL)
        n = snprintf(out, size, GATEWAY_AUTH_COOKIE "=%.*s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict",
                     (int)token_len, token, GATEWAY_AUTH_COOKIE_MAX_AGE);
    else
        n = snprintf(out, size, GATEWAY_AUTH_COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

bool gateway_auth_method_is_safe(const char *method, size_t len)
{
    return (len == 3 && memcmp(method, "GET", 3) == 0) || (len == 4 && memcmp(method, "HEAD", 4) == 0) ||
           (len == 7 && memcmp(method, "OPTIONS", 7) == 0);
}

static size_t s_slot(const gateway_auth *auth, const uint8_t *hash)
{
    uint64_t h;
    memcpy(&h, hash, sizeof h);
    return (size_t)(h % auth->capacity);
}

/* The entry of hash, created (or reusing the stalest probed slot) when absent. */
static s_entry *s_entry_for(gateway_auth *auth, const uint8_t *hash, int64_t now)
{
    size_t start = s_slot(auth, hash);
    s_entry *free_slot = NULL, *stalest = NULL;
    for (size_t i = 0; i < S_PROBES; i++) {
        s_entry *e = &auth->table[(start + i) % auth->capacity];
        if (e->used && memcmp(e->hash, hash, sizeof e->hash) == 0)
            return e;
        if (!e->used && free_slot == NULL)
            free_slot = e;
        if (e->used && (stalest == NULL || e->last_use_ms < stalest->last_use_ms))
            stalest = e;
    }
    s_entry *e = free_slot ? free_slot : stalest;
    s_entry_clear_principal(e);
    memset(e, 0, sizeof *e);
    memcpy(e->hash, hash, sizeof e->hash);
    e->used = true;
    e->bucket = auth->options.burst;
    e->refilled_ms = now;
    return e;
}

static s_entry *s_find(gateway_auth *auth, const uint8_t *hash)
{
    size_t start = s_slot(auth, hash);
    for (size_t i = 0; i < S_PROBES; i++) {
        s_entry *e = &auth->table[(start + i) % auth->capacity];
        if (e->used && memcmp(e->hash, hash, sizeof e->hash) == 0)
            return e;
    }
    return NULL;
}

/* Takes one request from the token's bucket; 0 when allowed, else seconds to wait. */
static uint32_t s_take(gateway_auth *auth, s_entry *e, int64_t now)
{
    double rate = auth->options.requests_per_second;
    e->last_use_ms = now;
    if (rate <= 0)
        return 0; /* no limit configured */
    e->bucket += (double)(now - e->refilled_ms) / 1000.0 * rate;
    if (e->bucket > auth->options.burst)
        e->bucket = auth->options.burst;
    e->refilled_ms = now;
    e->last_use_ms = now;
    if (e->bucket >= 1.0) {
        e->bucket -= 1.0;
        return 0;
    }
    uint32_t wait = (uint32_t)((1.0 - e->bucket) / rate) + 1;
    return wait;
}

void gateway_auth_forget(gateway_auth *auth, const char *token, size_t len)
{
    uint8_t hash[S_HASH_BYTES];
    s_token_hash(auth, token, len, hash);
    s_entry *e = s_find(auth, hash);
    if (e)
        s_entry_clear_principal(e);
}

static void s_on_authenticated(int result, const uint8_t *body, size_t len, void *ud)
{
    gateway_auth_wait *wait = ud;
    gateway_auth *auth = wait->auth;
    gateway_auth_cb cb = wait->cb;
    void *cb_ud = wait->ud;
    gateway_auth_result outcome = GATEWAY_AUTH_UNAVAILABLE;
    Metodnet__Reply *reply = NULL;
    Metodnet__AuthenticateResponse *response = NULL;
    if (result == MDP_OK)
        reply = metodnet__reply__unpack(NULL, len, body);
    if (reply != NULL) {
        int code = reply->status ? (int)reply->status->code : 0;
        if (code == METODNET__STATUS_CODE__STATUS_CODE_OK)
            response = metodnet__authenticate_response__unpack(NULL, reply->payload.len, reply->payload.data);
        if (response != NULL && response->principal != NULL &&
            response->principal->role != METODNET__ROLE__ROLE_UNSPECIFIED)
            outcome = GATEWAY_AUTH_OK;
        else if (code == METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED)
            outcome = GATEWAY_AUTH_INVALID;
        else
            log_error(NULL, "служба auth вернула на Authenticate код %d", code);
    }
    if (outcome == GATEWAY_AUTH_OK) {
        int64_t now = clock_unix_ms();
        s_entry *e = s_entry_for(auth, wait->hash, now);
        s_entry_clear_principal(e);
        /* keep our own copy: the response is freed below */
        size_t plen = metodnet__principal__get_packed_size(response->principal);
        uint8_t *packed = malloc(plen ? plen : 1);
        s_shared_principal *shared = malloc(sizeof *shared);
        if (packed != NULL && shared != NULL) {
            metodnet__principal__pack(response->principal, packed);
            shared->refs = 1;
            shared->principal = metodnet__principal__unpack(NULL, plen, packed);
            if (shared->principal != NULL) {
                e->principal = shared;
                shared = NULL;
            }
        }
        free(packed);
        free(shared);
        int64_t until = response->valid_until_unix_ms;
        if (until > now + 5000)
            until = now + 5000;
        e->valid_until_ms = until;
        e->last_use_ms = now;
    }
    free(wait);
    cb(outcome, outcome == GATEWAY_AUTH_OK ? response->principal : NULL, 0, cb_ud);
    if (response)
        metodnet__authenticate_response__free_unpacked(response, NULL);
    if (reply)
        metodnet__reply__free_unpacked(reply, NULL);
}

gateway_auth_wait *gateway_auth_check(gateway_auth *auth, const char *authorization, size_t len, const char *request_id,
                                      gateway_auth_cb cb, void *ud)
{
    const char *token;
    size_t token_len;
    if (gateway_auth_bearer(authorization, len, &token, &token_len) != 0)
        return s_ready(auth, GATEWAY_AUTH_MISSING, NULL, 0, cb, ud);
    uint8_t hash[S_HASH_BYTES];
    s_token_hash(auth, token, token_len, hash);
    int64_t now = clock_unix_ms();
    s_entry *e = s_entry_for(auth, hash, now);
    uint32_t wait_s = s_take(auth, e, now);
    if (wait_s > 0)
        return s_ready(auth, GATEWAY_AUTH_RATE_LIMITED, NULL, wait_s, cb, ud);
    if (e->principal != NULL && now < e->valid_until_ms)
        return s_ready(auth, GATEWAY_AUTH_OK, e->principal, 0, cb, ud);
    s_entry_clear_principal(e);

    Metodnet__AuthenticateRequest request = METODNET__AUTHENTICATE_REQUEST__INIT;
    char *token_copy = strndup(token, token_len);
    request.token = token_copy;
    gateway_auth_wait *wait = calloc(1, sizeof *wait);
    size_t body_len = 0;
    uint8_t *body = NULL;
    if (token_copy != NULL && wait != NULL) {
        request_envelope envelope = {
            .method = "Authenticate",
            .message = &request.base,
            .caller = gateway_auth_gateway_principal(),
            .request_id = request_id,
            .timeout_ms = auth->options.timeout_ms,
            .secret = 1, /* the payload holds the token */
        };
        body = request_envelope_pack(&envelope, &body_len);
    }
    if (token_copy)
        sodium_memzero(token_copy, token_len);
    free(token_copy);
    if (body == NULL) {
        free(wait);
        return s_ready(auth, GATEWAY_AUTH_UNAVAILABLE, NULL, 0, cb, ud);
    }
    wait->auth = auth;
    memcpy(wait->hash, hash, sizeof hash);
    wait->cb = cb;
    wait->ud = ud;
    wait->pending =
        mdp_broker_request(auth->broker, "auth", body, body_len, auth->options.timeout_ms, s_on_authenticated, wait);
    sodium_memzero(body, body_len);
    free(body);
    if (wait->pending == NULL) {
        free(wait);
        return s_ready(auth, GATEWAY_AUTH_UNAVAILABLE, NULL, 0, cb, ud);
    }
    return wait;
}

void gateway_auth_cancel(gateway_auth_wait *wait)
{
    if (wait == NULL)
        return;
    if (wait->pending == NULL) {
        wait->cancelled = true; /* in the ready list: freed there without a callback */
        return;
    }
    mdp_broker_cancel(wait->pending);
    free(wait);
}
