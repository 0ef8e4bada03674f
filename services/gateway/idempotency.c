/* idempotency — Idempotency-Key records in Redis (see idempotency.h). */
#include "idempotency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>

#include "log.h"

/* Takes the key (returns nil) or returns the existing record, atomically. */
static const char s_begin_lua[] = "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end\n"
                                  "return redis.call('GET', KEYS[1])\n";

struct gateway_idempotency {
    redis_link *link;
    redis_script *begin;
    uint32_t pending_ttl_ms;
};

const char *const *gateway_idempotency_lua_scripts(size_t *n)
{
    static const char *const scripts[] = {s_begin_lua};
    *n = sizeof scripts / sizeof scripts[0];
    return scripts;
}

gateway_idempotency *gateway_idempotency_new(redis_link *link, uint32_t request_timeout_ms)
{
    gateway_idempotency *idem = calloc(1, sizeof *idem);
    if (idem == NULL)
        return NULL;
    idem->link = link;
    idem->begin = redis_link_script(link, s_begin_lua);
    idem->pending_ttl_ms = request_timeout_ms + 5000;
    if (idem->begin == NULL) {
        free(idem);
        return NULL;
    }
    return idem;
}

void gateway_idempotency_destroy(gateway_idempotency **idem)
{
    if (idem == NULL || *idem == NULL)
        return;
    free(*idem); /* the script belongs to the link */
    *idem = NULL;
}

bool idempotency_key_valid(const char *key, size_t len)
{
    if (key == NULL || len == 0 || len > 128)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7E)
            return false;
    return true;
}

void idempotency_fingerprint(const char *method, size_t method_len, const char *path, size_t path_len, const char *body,
                             size_t body_len, char out[IDEMPOTENCY_FINGERPRINT_HEX])
{
    crypto_hash_sha256_state st;
    unsigned char digest[crypto_hash_sha256_BYTES];
    unsigned char sep = '\n';
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)method, method_len);
    crypto_hash_sha256_update(&st, &sep, 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)path, path_len);
    crypto_hash_sha256_update(&st, &sep, 1);
    if (body_len > 0)
        crypto_hash_sha256_update(&st, (const unsigned char *)body, body_len);
    crypto_hash_sha256_final(&st, digest);
    sodium_bin2hex(out, IDEMPOTENCY_FINGERPRINT_HEX, digest, sizeof digest);
}

char *idempotency_redis_key(const char *user_id, const char *key, size_t key_len)
{
    size_t n = strlen(IDEMPOTENCY_KEY_PREFIX) + strlen(user_id) + 1 + key_len + 1;
    char *out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%s%s:%.*s", IDEMPOTENCY_KEY_PREFIX, user_id, (int)key_len, key);
    return out;
}

bool idempotency_should_store(int status)
{
    if (status >= 200 && status < 300)
        return true;
    return status >= 400 && status < 500 && status != 409 && status != 429;
}

idempotency_outcome idempotency_parse_record(const char *text, size_t len, const char *fingerprint,
                                             idempotency_reply *stored, json_t **doc)
{
    *doc = json_loadb(text, len, 0, NULL);
    const char *state = NULL, *fp = NULL, *body = NULL, *etag = "", *location = "";
    int status = 0;
    if (*doc == NULL || json_unpack(*doc, "{s:s, s:s}", "state", &state, "fingerprint", &fp) != 0)
        return IDEMPOTENCY_UNAVAILABLE;
    if (strcmp(fp, fingerprint) != 0)
        return IDEMPOTENCY_MISMATCH;
    if (strcmp(state, "pending") == 0)
        return IDEMPOTENCY_IN_PROGRESS;
    if (strcmp(state, "done") != 0 ||
        json_unpack(*doc, "{s:i, s:s, s?s, s?s}", "status", &status, "body", &body, "etag", &etag, "location",
                    &location) != 0 ||
        status < 100 || status > 599)
        return IDEMPOTENCY_UNAVAILABLE;
    stored->status = status;
    stored->body = body;
    stored->body_len = json_string_length(json_object_get(*doc, "body"));
    stored->etag = etag;
    stored->location = location;
    return IDEMPOTENCY_REPLAY;
}

typedef struct {
    idempotency_begin_cb cb;
    void *ud;
    char fingerprint[IDEMPOTENCY_FINGERPRINT_HEX];
} s_begin_op;

static void s_on_begin(const redisReply *reply, const char *error, void *ud)
{
    s_begin_op *op = ud;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        log_warn(NULL, "Redis не ответил на проверку ключа идемпотентности: %s",
                 error ? error : (reply && reply->str ? reply->str : "ошибка"));
        op->cb(IDEMPOTENCY_UNAVAILABLE, NULL, op->ud);
    } else if (reply->type == REDIS_REPLY_NIL) {
        op->cb(IDEMPOTENCY_PROCEED, NULL, op->ud);
    } else if (reply->type == REDIS_REPLY_STRING) {
        json_t *doc = NULL;
        idempotency_reply stored;
        memset(&stored, 0, sizeof stored);
        idempotency_outcome outcome = idempotency_parse_record(reply->str, reply->len, op->fingerprint, &stored, &doc);
        op->cb(outcome, outcome == IDEMPOTENCY_REPLAY ? &stored : NULL, op->ud);
        json_decref(doc);
    } else {
        op->cb(IDEMPOTENCY_UNAVAILABLE, NULL, op->ud);
    }
    free(op);
}

int idempotency_begin(gateway_idempotency *idem, const char *redis_key, const char *fingerprint,
                      idempotency_begin_cb cb, void *ud)
{
    s_begin_op *op = calloc(1, sizeof *op);
    if (op == NULL)
        return -1;
    op->cb = cb;
    op->ud = ud;
    snprintf(op->fingerprint, sizeof op->fingerprint, "%s", fingerprint);
    json_t *rec = json_pack("{s:s, s:s}", "state", "pending", "fingerprint", fingerprint);
    char *value = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%u", idem->pending_ttl_ms);
    if (value == NULL) {
        free(op);
        return -1;
    }
    const char *argv[] = {redis_key, value, ttl};
    size_t argvlen[] = {strlen(redis_key), strlen(value), strlen(ttl)};
    int rc = redis_link_evalsha(idem->link, idem->begin, 1, 3, argv, argvlen, s_on_begin, op);
    free(value);
    if (rc != 0)
        free(op);
    return rc;
}

static void s_on_complete(const redisReply *reply, const char *error, void *ud)
{
    (void)ud;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
        log_warn(NULL, "Не удалось сохранить результат запроса с ключом идемпотентности: %s",
                 error ? error : (reply && reply->str ? reply->str : "ошибка"));
}

void idempotency_complete(gateway_idempotency *idem, const char *redis_key, const char *fingerprint,
                          const idempotency_reply *reply)
{
    if (!idempotency_should_store(reply->status)) {
        redis_link_commandf(idem->link, s_on_complete, NULL, "DEL %s", redis_key);
        return;
    }
    json_t *body = json_stringn(reply->body ? reply->body : "", reply->body_len);
    json_t *rec = json_pack("{s:s, s:s, s:i, s:o, s:s, s:s}", "state", "done", "fingerprint", fingerprint, "status",
                            reply->status, "body", body, "etag", reply->etag ? reply->etag : "", "location",
                            reply->location ? reply->location : "");
    char *value = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    if (value == NULL) {
        redis_link_commandf(idem->link, s_on_complete, NULL, "DEL %s", redis_key);
        return;
    }
    redis_link_commandf(idem->link, s_on_complete, NULL, "SET %s %s PX %u", redis_key, value,
                        (unsigned)IDEMPOTENCY_TTL_MS);
    free(value);
}
