/* registry_claim_guard — audit and a per-user limit for refused external-id claims (see header). */
#include "registry_claim_guard.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "scope.h"

#define S_KEY_PREFIX "reg:{g}:claimrefusals:"

struct registry_claim_guard {
    redis_link *link;
    audit *audit;
    redis_script *refused;
    int limit;
    int64_t window_ms;
};

/* KEYS: the caller's counter. ARGV: now ms, window ms, refusals to add. → refusals in the window.
 * A window starts with the first refusal after the previous one ended; the key expires with it. */
static const char s_lua_refused[] = "local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
                                    "local h = redis.call('HMGET', KEYS[1], 'n', 's')\n"
                                    "local n, s = tonumber(h[1]), tonumber(h[2])\n"
                                    "if not n or not s or now - s >= window or s > now then n = 0 s = now end\n"
                                    "n = n + tonumber(ARGV[3])\n"
                                    "redis.call('HSET', KEYS[1], 'n', string.format('%d', n), 's', "
                                    "string.format('%d', s))\n"
                                    "redis.call('PEXPIRE', KEYS[1], string.format('%d', s + window - now))\n"
                                    "return n\n";

const char *const *registry_claim_guard_lua_scripts(size_t *n)
{
    static const char *const scripts[] = {s_lua_refused};
    *n = sizeof scripts / sizeof scripts[0];
    return scripts;
}

static long long s_env(const char *name, long long fallback, long long min, long long max)
{
    const char *text = getenv(name);
    if (text == NULL || *text == '\0')
        return fallback;
    char *end = NULL;
    long long value = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || value < min || value > max) {
        log_warn(NULL, "%s=«%s» не число от %lld до %lld: беру %lld", name, text, min, max, fallback);
        return fallback;
    }
    return value;
}

registry_claim_guard *registry_claim_guard_new(redis_link *link, audit *audit)
{
    if (link == NULL || audit == NULL)
        return NULL;
    registry_claim_guard *guard = calloc(1, sizeof *guard);
    if (guard == NULL)
        return NULL;
    guard->link = link;
    guard->audit = audit;
    guard->refused = redis_link_script(link, s_lua_refused);
    guard->limit = (int)s_env("METODNET_CLAIM_REFUSAL_LIMIT", 20, 1, 1000000);
    guard->window_ms = s_env("METODNET_CLAIM_REFUSAL_WINDOW_S", 3600, 1, 7 * 86400) * 1000;
    if (guard->refused == NULL) {
        free(guard);
        return NULL;
    }
    return guard;
}

void registry_claim_guard_destroy(registry_claim_guard **guard)
{
    if (guard == NULL || *guard == NULL)
        return;
    free(*guard); /* the script belongs to the link */
    *guard = NULL;
}

/* The counter of the caller, or false for callers that are never limited. */
static bool s_counter_key(const service_call *call, char *out, size_t size)
{
    const Metodnet__Principal *caller = service_call_caller(call);
    if (scope_is_global(caller) || caller->user_id == NULL || *caller->user_id == '\0')
        return false;
    int n = snprintf(out, size, S_KEY_PREFIX "%s", caller->user_id);
    return n > 0 && (size_t)n < size;
}

typedef struct {
    registry_claim_guard *guard;
    registry_claim_budget_cb cb;
    void *ud;
    bool immediate; /* not limited: answer without Redis, still asynchronously */
} s_budget_ctx;

static void s_budget_read(const redisReply *reply, const char *error, void *ud)
{
    s_budget_ctx *ctx = ud;
    registry_claim_guard *guard = ctx->guard;
    int status = 0, left = ctx->immediate ? INT_MAX : guard->limit;
    int32_t retry = 0;
    if (!ctx->immediate) {
        if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
            log_error(NULL, "счётчик отказов по внешним идентификаторам не прочитан: %s",
                      error ? error : (reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "неожиданный ответ"));
            status = -1;
            left = 0;
        } else if (reply->element[0]->type == REDIS_REPLY_STRING && reply->element[1]->type == REDIS_REPLY_STRING) {
            long long n = strtoll(reply->element[0]->str, NULL, 10);
            long long start = strtoll(reply->element[1]->str, NULL, 10);
            int64_t now = clock_unix_ms();
            if (now - start < guard->window_ms && start <= now) {
                left = n >= guard->limit ? 0 : guard->limit - (int)n;
                if (left == 0)
                    retry = (int32_t)((start + guard->window_ms - now + 999) / 1000);
            }
        }
    }
    ctx->cb(status, left, retry > 0 ? retry : 1, ctx->ud);
    free(ctx);
}

int registry_claim_guard_budget(registry_claim_guard *guard, const service_call *call, registry_claim_budget_cb cb,
                                void *ud)
{
    if (guard == NULL || call == NULL || cb == NULL)
        return -1;
    s_budget_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return -1;
    *ctx = (s_budget_ctx){guard, cb, ud, false};
    char key[160];
    if (!s_counter_key(call, key, sizeof key)) {
        /* still answered from the loop (PING), so the callback never runs inside this call */
        ctx->immediate = true;
        const char *argv[] = {"PING"};
        if (redis_link_command(guard->link, s_budget_read, ctx, 1, argv, NULL) != 0) {
            free(ctx);
            return -1;
        }
        return 0;
    }
    const char *argv[] = {"HMGET", key, "n", "s"};
    if (redis_link_command(guard->link, s_budget_read, ctx, 4, argv, NULL) != 0) {
        free(ctx);
        return -1;
    }
    return 0;
}

static void s_counted(const redisReply *reply, const char *error, void *ud)
{
    (void)ud;
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER)
        log_error(NULL, "отказ по внешнему идентификатору не сосчитан: %s",
                  error ? error : (reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "неожиданный ответ"));
}

void registry_claim_guard_refused(registry_claim_guard *guard, const service_call *call, const char *holder_kind,
                                  const char *holder_id, const char *region)
{
    if (guard == NULL || call == NULL)
        return;
    audit_event e;
    audit_event_from_call(&e, call);
    e.action = "claim_refused";
    e.object_kind = holder_kind;
    e.object_id = holder_id ? holder_id : "";
    if (region && *region)
        e.region_id = region;
    if (audit_record(guard->audit, &e, NULL, NULL) != 0)
        log_error(service_call_request_id(call), "запись в журнал аудита не поставлена в очередь");
    char key[160], now[24], window[24];
    if (!s_counter_key(call, key, sizeof key))
        return;
    snprintf(now, sizeof now, "%" PRId64, clock_unix_ms());
    snprintf(window, sizeof window, "%" PRId64, guard->window_ms);
    const char *argv[] = {key, now, window, "1"};
    if (redis_link_evalsha(guard->link, guard->refused, 1, 4, argv, NULL, s_counted, NULL) != 0)
        log_error(service_call_request_id(call), "счётчик отказов по внешним идентификаторам не поставлен в очередь");
}
