/* process_health — the process's counters and its periodic health report in Redis (see
 * process_health.h). */
#include "process_health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

/* One loop thread per process: the counters need no atomics. */
static struct {
    uint64_t requests;
    uint64_t errors;
    int64_t busy;
    int64_t broker_heard_ms; /* clock_unix_ms() of the last broker message, 0 = never */
} s_counters;

void process_health_note_request(bool server_error)
{
    s_counters.requests++;
    if (server_error)
        s_counters.errors++;
}

void process_health_note_busy(int delta)
{
    s_counters.busy += delta;
    if (s_counters.busy < 0)
        s_counters.busy = 0;
}

void process_health_note_broker_heard(void)
{
    s_counters.broker_heard_ms = clock_unix_ms();
}

struct process_health {
    uv_loop_t *loop;
    redis_link *link;
    uv_timer_t timer;
    char service[32];
    char host[64];
    char member[128]; /* <service>:<host>:<pid> */
    char key[160];    /* health:p:<member> */
    uint32_t interval_ms;
    uint32_t broker_expiry_ms;
    int64_t started_ms;
    unsigned pending;    /* Redis commands not answered yet (the struct outlives them) */
    bool report_waiting; /* a report is on its way: the next tick does not queue another */
    bool write_refused;  /* logged once: a refused report (ACL) is a setup error, not a flood */
    bool stopping;
    bool timer_closed;
    void (*done)(void *ud);
    void *done_ud;
};

bool process_health_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_';
}

/* Host names go into a Redis key and a JSON string: anything but [A-Za-z0-9._-] becomes '_'. */
static void s_copy_name(char *dst, size_t size, const char *src)
{
    size_t n = 0;
    for (; src[n] && n + 1 < size; n++)
        dst[n] = process_health_name_char(src[n]) ? src[n] : '_';
    dst[n] = '\0';
    if (n == 0)
        snprintf(dst, size, "unknown");
}

static long s_rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    unsigned long size_pages = 0, resident_pages = 0;
    int got = fscanf(f, "%lu %lu", &size_pages, &resident_pages);
    fclose(f);
    if (got != 2)
        return -1;
    return (long)(resident_pages * (unsigned long)sysconf(_SC_PAGESIZE) / 1024);
}

int process_health_report(const process_health *health, char *buf, size_t size)
{
    int64_t now = clock_unix_ms();
    char started[32], reported[32];
    clock_rfc3339(health->started_ms, started, sizeof started);
    clock_rfc3339(now, reported, sizeof reported);
    int64_t heard_ago = s_counters.broker_heard_ms ? now - s_counters.broker_heard_ms : -1;
    if (heard_ago < -1)
        heard_ago = 0; /* the wall clock stepped back */
    char problems[160] = "";
    bool degraded = false;
    if (health->broker_expiry_ms > 0) {
        if (heard_ago < 0 && now - health->started_ms > (int64_t)health->broker_expiry_ms) {
            snprintf(problems, sizeof problems, "\"брокер ни разу не ответил\"");
            degraded = true;
        } else if (heard_ago > (int64_t)health->broker_expiry_ms) {
            snprintf(problems, sizeof problems, "\"нет связи с брокером %lld с\"", (long long)(heard_ago / 1000));
            degraded = true;
        }
    }
    int n = snprintf(buf, size,
                     "{\"service\":\"%s\",\"host\":\"%s\",\"pid\":%ld,\"startedAt\":\"%s\",\"reportedAt\":\"%s\","
                     "\"uptimeSeconds\":%lld,\"status\":\"%s\",\"problems\":[%s],\"requests\":%llu,\"errors\":%llu,"
                     "\"busy\":%lld,\"brokerHeardMsAgo\":%lld,\"rssKb\":%ld,\"intervalMs\":%u}",
                     health->service, health->host, (long)getpid(), started, reported,
                     (long long)((now - health->started_ms) / 1000), degraded ? "degraded" : "ok", problems,
                     (unsigned long long)s_counters.requests, (unsigned long long)s_counters.errors,
                     (long long)s_counters.busy, (long long)heard_ago, s_rss_kb(), health->interval_ms);
    return n >= 0 && (size_t)n < size ? n : -1;
}

static void s_maybe_free(process_health *health)
{
    if (!health->stopping || health->pending > 0 || !health->timer_closed)
        return;
    void (*done)(void *) = health->done;
    void *ud = health->done_ud;
    free(health);
    if (done)
        done(ud);
}

static void s_on_report_written(const redisReply *reply, const char *error, void *ud)
{
    process_health *health = ud;
    health->pending--;
    health->report_waiting = health->pending > 0 && !health->stopping;
    if (reply && reply->type == REDIS_REPLY_ERROR && !health->write_refused) {
        health->write_refused = true;
        log_warn(NULL, "отчёт о здоровье процесса не записан в Redis: %s (ops/redis-acl.conf: ~health:*)", reply->str);
    }
    (void)error; /* Redis unreachable: the report is simply missing, which is what readers should see */
    s_maybe_free(health);
}

static void s_on_tick(uv_timer_t *timer)
{
    process_health *health = timer->data;
    if (health->stopping || health->report_waiting || !redis_link_connected(health->link))
        return;
    char report[768];
    int len = process_health_report(health, report, sizeof report);
    if (len < 0)
        return;
    char ttl[24], score[24];
    snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)health->interval_ms * 3);
    snprintf(score, sizeof score, "%lld", (long long)clock_unix_ms());
    const char *set_argv[] = {"SET", health->key, report, "PX", ttl};
    size_t set_len[] = {3, strlen(health->key), (size_t)len, 2, strlen(ttl)};
    const char *zadd_argv[] = {"ZADD", PROCESS_HEALTH_INDEX_KEY, score, health->member};
    if (redis_link_command(health->link, s_on_report_written, health, 5, set_argv, set_len) == 0)
        health->pending++;
    if (redis_link_command(health->link, s_on_report_written, health, 4, zadd_argv, NULL) == 0)
        health->pending++;
    health->report_waiting = health->pending > 0;
}

process_health *process_health_start(uv_loop_t *loop, redis_link *link, const char *service, uint32_t interval_ms,
                                     uint32_t broker_expiry_ms)
{
    process_health *health = calloc(1, sizeof *health);
    if (health == NULL)
        return NULL;
    health->loop = loop;
    health->link = link;
    health->interval_ms = interval_ms ? interval_ms : 5000;
    health->broker_expiry_ms = broker_expiry_ms;
    health->started_ms = clock_unix_ms();
    s_copy_name(health->service, sizeof health->service, service);
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    s_copy_name(health->host, sizeof health->host, host);
    snprintf(health->member, sizeof health->member, "%s:%s:%ld", health->service, health->host, (long)getpid());
    snprintf(health->key, sizeof health->key, PROCESS_HEALTH_KEY_PREFIX "%s", health->member);
    uv_timer_init(loop, &health->timer);
    health->timer.data = health;
    uv_unref((uv_handle_t *)&health->timer); /* reporting never keeps a stopping loop alive */
    /* the first report soon after start (the link is connecting), then every interval */
    uv_timer_start(&health->timer, s_on_tick, 50, health->interval_ms);
    return health;
}

static void s_on_timer_closed(uv_handle_t *handle)
{
    process_health *health = handle->data;
    health->timer_closed = true;
    s_maybe_free(health);
}

static void s_on_deleted(const redisReply *reply, const char *error, void *ud)
{
    (void)reply;
    (void)error;
    process_health *health = ud;
    health->pending--;
    s_maybe_free(health);
}

void process_health_stop(process_health **healthp, void (*done)(void *ud), void *ud)
{
    process_health *health = healthp ? *healthp : NULL;
    if (healthp)
        *healthp = NULL;
    if (health == NULL) {
        if (done)
            done(ud);
        return;
    }
    health->stopping = true;
    health->done = done;
    health->done_ud = ud;
    uv_timer_stop(&health->timer);
    uv_close((uv_handle_t *)&health->timer, s_on_timer_closed);
    if (redis_link_connected(health->link)) {
        if (redis_link_commandf(health->link, s_on_deleted, health, "DEL %s", health->key) == 0)
            health->pending++;
        if (redis_link_commandf(health->link, s_on_deleted, health, "ZREM %s %s", PROCESS_HEALTH_INDEX_KEY,
                                health->member) == 0)
            health->pending++;
    }
}
