/* health — the gateway's view of every process of the platform: GET /healthz/processes (JSON, 200 when
 * every process reporting is well, 503 otherwise) and /metrics (the gateway's own counters, the
 * broker's per-service figures and one set of lines per process). Both read the processes' health
 * reports from Redis (common/process_health.h): the members of health:procs, newest first (at most
 * S_PROCESSES_MAX), then their reports with one MGET. A member whose report has expired is a process
 * that went silent (killed, its host lost); members silent for longer than S_FORGET_MS are dropped.
 */
#include <jansson.h>

#include "http_internal.h"
#include "process_health.h"

#define S_PROCESSES_MAX 1000
#define S_FORGET_MS     (15 * 60 * 1000) /* a silent process is listed for 15 minutes, then forgotten */

static const char s_redis_down_ru[] = "Redis недоступен: отчёты процессов не прочитать";

typedef struct {
    char service[32];
    char host[64];
    long pid;
    int64_t last_report_ms; /* the member's score */
    json_t *report;         /* NULL: silent (the report expired) or unreadable */
} s_process;

typedef enum { S_FOR_PROCESSES, S_FOR_METRICS } s_purpose;

typedef struct {
    http_call *call;
    s_purpose purpose;
    s_process *processes;
    size_t n;
    const char *problem; /* why the reports could not be read, NULL when they were */
} s_fetch;

/* ---- reading the reports ---- */

/* "<service>:<host>:<pid>" as written by process_health; false for anything else. */
static bool s_parse_member(const char *text, size_t len, s_process *p)
{
    const char *first = memchr(text, ':', len);
    if (first == NULL)
        return false;
    const char *rest = first + 1;
    size_t rest_len = len - (size_t)(rest - text);
    const char *second = memchr(rest, ':', rest_len);
    if (second == NULL)
        return false;
    size_t service_len = (size_t)(first - text), host_len = (size_t)(second - rest);
    size_t pid_len = rest_len - host_len - 1;
    if (service_len == 0 || service_len >= sizeof p->service || host_len == 0 || host_len >= sizeof p->host ||
        pid_len == 0 || pid_len > 10)
        return false;
    long pid = 0;
    for (size_t i = 0; i < pid_len; i++) {
        char c = second[1 + i];
        if (c < '0' || c > '9')
            return false;
        pid = pid * 10 + (c - '0');
    }
    for (size_t i = 0; i < service_len + host_len; i++)
        if (!process_health_name_char(i < service_len ? text[i] : rest[i - service_len]))
            return false; /* nothing odd reaches a label or a JSON string */
    memcpy(p->service, text, service_len);
    p->service[service_len] = '\0';
    memcpy(p->host, rest, host_len);
    p->host[host_len] = '\0';
    p->pid = pid;
    return true;
}

static int s_compare_processes(const void *a, const void *b)
{
    const s_process *x = a, *y = b;
    int c = strcmp(x->service, y->service);
    if (c == 0)
        c = strcmp(x->host, y->host);
    return c != 0 ? c : (x->pid > y->pid) - (x->pid < y->pid);
}

static void s_fetch_free(s_fetch *f)
{
    for (size_t i = 0; i < f->n; i++)
        json_decref(f->processes[i].report);
    free(f->processes);
    gateway_http_call_unref(f->call);
    free(f);
}

static void s_answer(s_fetch *f);

static void s_on_reports(const redisReply *reply, const char *error, void *ud)
{
    s_fetch *f = ud;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != f->n) {
        f->problem = error ? "Redis не ответил на чтение отчётов процессов" : "Redis вернул неожиданный ответ";
    } else {
        for (size_t i = 0; i < f->n; i++) {
            const redisReply *r = reply->element[i];
            if (r->type != REDIS_REPLY_STRING || r->len > 8192)
                continue;
            json_t *report = json_loadb(r->str, r->len, 0, NULL);
            if (json_is_object(report))
                f->processes[i].report = report;
            else
                json_decref(report);
        }
    }
    s_answer(f);
}

static void s_on_members(const redisReply *reply, const char *error, void *ud)
{
    s_fetch *f = ud;
    gateway_http *http = f->call->http;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 != 0) {
        f->problem = error ? "Redis не ответил: отчёты процессов не прочитать" : "Redis вернул неожиданный ответ";
        s_answer(f);
        return;
    }
    size_t pairs = reply->elements / 2;
    f->processes = calloc(pairs ? pairs : 1, sizeof *f->processes);
    const char **argv = calloc(pairs + 1, sizeof *argv);
    size_t *argvlen = calloc(pairs + 1, sizeof *argvlen);
    char(*keys)[160] = calloc(pairs ? pairs : 1, sizeof *keys);
    if (f->processes == NULL || argv == NULL || argvlen == NULL || keys == NULL) {
        free(argv);
        free(argvlen);
        free(keys);
        f->problem = "Недостаточно памяти";
        s_answer(f);
        return;
    }
    argv[0] = "MGET";
    argvlen[0] = 4;
    for (size_t i = 0; i < pairs; i++) {
        const redisReply *member = reply->element[2 * i], *score = reply->element[2 * i + 1];
        s_process p = {0};
        if (member->type != REDIS_REPLY_STRING || score->type != REDIS_REPLY_STRING ||
            !s_parse_member(member->str, member->len, &p))
            continue;
        p.last_report_ms = strtoll(score->str, NULL, 10);
        int len =
            snprintf(keys[f->n], sizeof keys[f->n], PROCESS_HEALTH_KEY_PREFIX "%s:%s:%ld", p.service, p.host, p.pid);
        argv[1 + f->n] = keys[f->n];
        argvlen[1 + f->n] = (size_t)len;
        f->processes[f->n++] = p;
    }
    if (f->n == 0) {
        free(argv);
        free(argvlen);
        free(keys);
        s_answer(f);
        return;
    }
    if (http->redis == NULL || redis_link_command(http->redis, s_on_reports, f, (int)(1 + f->n), argv, argvlen) != 0) {
        f->problem = s_redis_down_ru;
        s_answer(f);
    }
    free(argv);
    free(argvlen);
    free(keys);
}

static void s_on_forgotten(const redisReply *reply, const char *error, void *ud)
{
    (void)reply;
    (void)error;
    (void)ud;
}

static void s_fetch_start(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id,
                          uint64_t started_ns, s_purpose purpose)
{
    s_fetch *f = calloc(1, sizeof *f);
    http_call *call = f ? gateway_http_call_new(http, req, label, request_id, started_ns) : NULL;
    if (call == NULL) {
        free(f);
        gateway_http_send_error(http, req, label, request_id, started_ns, 500, "internal", "Недостаточно памяти", NULL,
                                0, NULL);
        return;
    }
    call->refs++; /* the fetch's reference, dropped in s_fetch_free */
    f->call = call;
    f->purpose = purpose;
    char cutoff[32], max_index[16];
    snprintf(cutoff, sizeof cutoff, "(%lld", (long long)(clock_unix_ms() - S_FORGET_MS));
    snprintf(max_index, sizeof max_index, "%d", S_PROCESSES_MAX - 1);
    const char *forget[] = {"ZREMRANGEBYSCORE", PROCESS_HEALTH_INDEX_KEY, "-inf", cutoff};
    const char *members[] = {"ZRANGE", PROCESS_HEALTH_INDEX_KEY, "0", max_index, "REV", "WITHSCORES"};
    if (http->redis == NULL || !redis_link_connected(http->redis)) {
        f->problem = s_redis_down_ru;
        s_answer(f);
        return;
    }
    redis_link_command(http->redis, s_on_forgotten, NULL, 4, forget, NULL);
    if (redis_link_command(http->redis, s_on_members, f, 6, members, NULL) != 0) {
        f->problem = s_redis_down_ru;
        s_answer(f);
    }
}

/* ---- GET /healthz/processes ---- */

static const char *s_state(const s_process *p)
{
    if (p->report == NULL)
        return "silent";
    const char *status = json_string_value(json_object_get(p->report, "status"));
    return status != NULL && strcmp(status, "ok") == 0 ? "ok" : "degraded";
}

static void s_answer_processes(s_fetch *f)
{
    http_call *call = f->call;
    gateway_http *http = call->http;
    if (f->problem != NULL) {
        gateway_http_send_error(http, call->req, call->label, call->request_id, call->started_ns, 503, "unavailable",
                                f->problem, NULL, 0, NULL);
        return;
    }
    int64_t now = clock_unix_ms();
    json_t *list = json_array();
    size_t ok = 0, degraded = 0, silent = 0;
    for (size_t i = 0; i < f->n; i++) {
        const s_process *p = &f->processes[i];
        const char *state = s_state(p);
        json_t *item = json_object();
        /* the report's own fields first, then what the gateway knows (state, last report) over them */
        if (p->report != NULL)
            json_object_update(item, p->report);
        json_object_set_new(item, "service", json_string(p->service));
        json_object_set_new(item, "host", json_string(p->host));
        json_object_set_new(item, "pid", json_integer(p->pid));
        json_object_set_new(item, "state", json_string(state));
        char at[32];
        json_object_set_new(item, "lastReportAt", json_string(clock_rfc3339(p->last_report_ms, at, sizeof at)));
        json_object_set_new(item, "lastReportSecondsAgo", json_integer((now - p->last_report_ms) / 1000));
        if (p->report == NULL) {
            char text[128];
            snprintf(text, sizeof text, "нет отчёта %lld с (процесс остановлен аварийно или недоступен)",
                     (long long)((now - p->last_report_ms) / 1000));
            json_object_set_new(item, "problems", json_pack("[s]", text));
        }
        json_array_append_new(list, item);
        *(strcmp(state, "ok") == 0 ? &ok : strcmp(state, "silent") == 0 ? &silent : &degraded) += 1;
    }
    bool well = f->n > 0 && degraded == 0 && silent == 0;
    char at[32];
    json_t *body = json_pack("{s:s,s:s,s:{s:I,s:I,s:I},s:o}", "status", well ? "ok" : "degraded", "checkedAt",
                             clock_rfc3339(now, at, sizeof at), "counts", "ok", (json_int_t)ok, "degraded",
                             (json_int_t)degraded, "silent", (json_int_t)silent, "processes", list);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL) {
        gateway_http_send_error(http, call->req, call->label, call->request_id, call->started_ns, 500, "internal",
                                "Недостаточно памяти", NULL, 0, NULL);
        return;
    }
    gateway_http_send(http, call->req, call->label, call->request_id, call->started_ns, well ? 200 : 503, HTTP_JSON,
                      text, strlen(text), NULL);
    free(text);
}

/* ---- GET /metrics ---- */

typedef struct {
    FILE *out;
    const mdp_broker *broker;
} s_metrics_out;

static void s_write_broker_metrics(const char *service, size_t workers, size_t busy, size_t queued, void *ud)
{
    s_metrics_out *m = ud;
    fprintf(m->out, "metodnet_broker_workers{service=\"%s\"} %zu\n", service, workers);
    fprintf(m->out, "metodnet_broker_busy_workers{service=\"%s\"} %zu\n", service, busy);
    fprintf(m->out, "metodnet_broker_queue_depth{service=\"%s\"} %zu\n", service, queued);
    fprintf(m->out, "metodnet_broker_rejected_total{service=\"%s\"} %llu\n", service,
            (unsigned long long)mdp_broker_rejected(m->broker, service));
    int64_t heard_ms = mdp_broker_oldest_heartbeat_ms(m->broker, service);
    if (heard_ms >= 0)
        fprintf(m->out, "metodnet_broker_heartbeat_age_seconds{service=\"%s\"} %.3f\n", service,
                (double)heard_ms / 1000.0);
}

static void s_write_broker(FILE *out, const mdp_broker *broker)
{
    fputs("# HELP metodnet_broker_workers Live workers per service.\n# TYPE metodnet_broker_workers gauge\n"
          "# HELP metodnet_broker_busy_workers Workers holding a request.\n"
          "# TYPE metodnet_broker_busy_workers gauge\n"
          "# HELP metodnet_broker_queue_depth Requests waiting for a worker.\n"
          "# TYPE metodnet_broker_queue_depth gauge\n"
          "# HELP metodnet_broker_rejected_total Requests refused at once because the service's queue was full.\n"
          "# TYPE metodnet_broker_rejected_total counter\n"
          "# HELP metodnet_broker_heartbeat_age_seconds Seconds since the service's least recently heard worker was "
          "heard.\n"
          "# TYPE metodnet_broker_heartbeat_age_seconds gauge\n",
          out);
    if (broker != NULL) {
        fprintf(out,
                "# HELP metodnet_broker_queue_max Bound on each service's queue (0 = none).\n"
                "# TYPE metodnet_broker_queue_max gauge\nmetodnet_broker_queue_max %zu\n",
                mdp_broker_queue_max(broker));
        s_metrics_out m = {out, broker};
        mdp_broker_foreach_service(broker, s_write_broker_metrics, &m);
    }
    fprintf(out,
            "# HELP metodnet_broker_dropped_frames_total Malformed MDP frames dropped.\n"
            "# TYPE metodnet_broker_dropped_frames_total counter\n"
            "metodnet_broker_dropped_frames_total %llu\n"
            "# HELP metodnet_broker_refused_total Requests and READYs refused by the broker for the sender's key.\n"
            "# TYPE metodnet_broker_refused_total counter\n"
            "metodnet_broker_refused_total %llu\n",
            broker ? (unsigned long long)mdp_broker_dropped_frames(broker) : 0ULL,
            broker ? (unsigned long long)mdp_broker_refused(broker) : 0ULL);
}

/* One gauge or counter per process from a number in its report (absent or negative: no line). */
static void s_write_process_number(FILE *out, const s_process *p, const char *metric, const char *field, double scale)
{
    json_t *v = p->report ? json_object_get(p->report, field) : NULL;
    if (!json_is_number(v) || json_number_value(v) < 0)
        return;
    fprintf(out, "%s{service=\"%s\",host=\"%s\",pid=\"%ld\"} %.15g\n", metric, p->service, p->host, p->pid,
            json_number_value(v) * scale);
}

static void s_write_processes(FILE *out, const s_fetch *f)
{
    fprintf(out,
            "# HELP metodnet_process_reports_readable 1 when the processes' health reports could be read.\n"
            "# TYPE metodnet_process_reports_readable gauge\nmetodnet_process_reports_readable %d\n",
            f->problem == NULL);
    if (f->problem != NULL)
        return;
    fputs("# HELP metodnet_process_up 1 when the process reports and is well, 0 when degraded or silent.\n"
          "# TYPE metodnet_process_up gauge\n"
          "# HELP metodnet_process_report_age_seconds Seconds since the process last reported.\n"
          "# TYPE metodnet_process_report_age_seconds gauge\n",
          out);
    int64_t now = clock_unix_ms();
    for (size_t i = 0; i < f->n; i++) {
        const s_process *p = &f->processes[i];
        fprintf(out, "metodnet_process_up{service=\"%s\",host=\"%s\",pid=\"%ld\"} %d\n", p->service, p->host, p->pid,
                strcmp(s_state(p), "ok") == 0);
        fprintf(out, "metodnet_process_report_age_seconds{service=\"%s\",host=\"%s\",pid=\"%ld\"} %.3f\n", p->service,
                p->host, p->pid, (double)(now - p->last_report_ms) / 1000.0);
    }
    static const struct {
        const char *metric, *field, *type, *help;
        double scale;
    } numbers[] = {
        {"metodnet_process_requests_total", "requests", "counter", "Requests the process answered.", 1},
        {"metodnet_process_errors_total", "errors", "counter", "Requests answered with a server-side error.", 1},
        {"metodnet_process_busy", "busy", "gauge", "Requests being handled.", 1},
        {"metodnet_process_resident_bytes", "rssKb", "gauge", "Resident memory.", 1024},
        {"metodnet_process_uptime_seconds", "uptimeSeconds", "gauge", "Seconds since the process started.", 1},
        {"metodnet_process_broker_heard_age_seconds", "brokerHeardMsAgo", "gauge",
         "Seconds since the worker last heard from the broker.", 0.001},
    };
    for (size_t k = 0; k < sizeof numbers / sizeof numbers[0]; k++) {
        fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", numbers[k].metric, numbers[k].help, numbers[k].metric,
                numbers[k].type);
        for (size_t i = 0; i < f->n; i++)
            s_write_process_number(out, &f->processes[i], numbers[k].metric, numbers[k].field, numbers[k].scale);
    }
}

static void s_answer_metrics(s_fetch *f)
{
    http_call *call = f->call;
    gateway_http *http = call->http;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (out == NULL) {
        gateway_http_send_error(http, call->req, call->label, call->request_id, call->started_ns, 500, "internal",
                                "Недостаточно памяти", NULL, 0, NULL);
        return;
    }
    gateway_metrics_write(http->metrics, out);
    s_write_broker(out, http->broker);
    s_write_processes(out, f);
    fclose(out);
    gateway_http_send(http, call->req, call->label, call->request_id, call->started_ns, 200,
                      "text/plain; version=0.0.4; charset=utf-8", text, len, NULL);
    free(text);
}

static void s_answer(s_fetch *f)
{
    if (f->n > 1)
        qsort(f->processes, f->n, sizeof *f->processes, s_compare_processes);
    if (f->call->req != NULL && !f->call->responded) {
        f->call->responded = true;
        if (f->purpose == S_FOR_PROCESSES)
            s_answer_processes(f);
        else
            s_answer_metrics(f);
    }
    s_fetch_free(f);
}

void gateway_health_processes(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id,
                              uint64_t started_ns)
{
    s_fetch_start(http, req, label, request_id, started_ns, S_FOR_PROCESSES);
}

void gateway_health_metrics(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id,
                            uint64_t started_ns)
{
    s_fetch_start(http, req, label, request_id, started_ns, S_FOR_METRICS);
}
