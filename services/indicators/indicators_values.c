/* indicators_values — the values of a request: values.lua reads the numerators and denominators of the
 * scope (and its children) from the period's counters, this file turns them into IndicatorValue rows with
 * the half-up share, the region's target and whether it is met. A period read for the first time is built
 * by values.lua in chunks of people (reply "building"): this file calls it again until it is ready and logs
 * the progress of a big scan. METODNET_INDICATORS_PERIODS (default 8): registered periods kept per region;
 * METODNET_INDICATORS_BUILD_CHUNK (default 2000): people counted per call of the scan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "indicators_internal.h"
#include "log.h"
#include "xalloc.h"

typedef struct {
    indicators_service *svc;
    char region[16], kind[16], scope[64], indicator[8], by[16], prefix[64];
    char start[11], end[11], canonical[32];
    ind_values_cb cb;
    void *ud;
    redisReply *targets; /* copied pairs */
    double target[INDICATORS_COUNT];
    bool has_target[INDICATORS_COUNT];
    int64_t build_started, last_log;
} values_op;

static void s_count(values_op *o);

static int s_index(const char *code)
{
    const indicator_def *d = indicators_find(code);
    return d ? (int)(d - indicators_catalogue()) : -1;
}

void ind_values_free(Metodnet__GetIndicatorValuesResponse *resp)
{
    if (resp)
        protobuf_c_message_free_unpacked(&resp->base, NULL); /* every part is malloc'd */
}

static Metodnet__IndicatorValue *s_value(values_op *o, const char *kind, const char *id, const char *name,
                                         const char *code, const char *subject, long long num, long long den)
{
    int idx = s_index(code);
    const indicator_def *d = &indicators_catalogue()[idx];
    Metodnet__IndicatorValue *v = xcalloc(1, sizeof *v);
    metodnet__indicator_value__init(v);
    v->indicator = xstrdup(code);
    v->scope_kind = xstrdup(kind);
    v->scope_id = xstrdup(id);
    v->scope_name = xstrdup(name);
    v->subject = xstrdup(subject);
    v->numerator = num;
    v->denominator = d->share ? den : 0;
    if (d->share) {
        v->has_value = den > 0;
        v->value = den > 0 ? (double)indicators_share_tenths(num, den) / 10.0 : 0;
    } else {
        v->has_value = true;
        v->value = (double)num;
    }
    v->has_target = o->has_target[idx];
    v->target = o->target[idx];
    v->met = v->has_target && v->has_value && v->value + 1e-9 >= v->target;
    return v;
}

static int s_cmp(const void *a, const void *b)
{
    const Metodnet__IndicatorValue *x = *(Metodnet__IndicatorValue *const *)a;
    const Metodnet__IndicatorValue *y = *(Metodnet__IndicatorValue *const *)b;
    int c = strcmp(x->scope_id, y->scope_id);
    if (c)
        return c;
    c = s_index(x->indicator) - s_index(y->indicator);
    if (c)
        return c;
    return strcmp(x->subject, y->subject);
}

/* {'building', counted, total}: the period's scan goes on */
static bool s_building(values_op *o, const redisReply *reply)
{
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING || strcmp(reply->element[0]->str, "building") != 0 ||
        reply->element[1]->type != REDIS_REPLY_STRING || reply->element[2]->type != REDIS_REPLY_STRING)
        return false;
    int64_t now = clock_unix_ms();
    if (!o->build_started)
        o->build_started = o->last_log = now;
    long long total = atoll(reply->element[2]->str);
    if (total >= 5000 && now - o->last_log >= 1000) {
        o->last_log = now;
        log_info(NULL, "показатели: период %s..%s региона %s считается: %s из %lld человек", o->start, o->end,
                 o->region, reply->element[1]->str, total);
    }
    return true;
}

static void s_counted(const redisReply *reply, const char *error, void *ud)
{
    values_op *o = ud;
    if (!error && s_building(o, reply)) {
        s_count(o);
        return;
    }
    if (o->build_started && o->build_started < clock_unix_ms() - 1000)
        log_info(NULL, "показатели: период %s..%s региона %s посчитан за %lld мс", o->start, o->end, o->region,
                 (long long)(clock_unix_ms() - o->build_started));
    if (error || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements % 6 != 0) {
        log_error(NULL, "показатели: подсчёт не удался: %s",
                  error ? error : (reply && reply->str ? reply->str : "неожиданный ответ"));
        o->cb(IND_CODE(UNAVAILABLE), "Показатели временно недоступны, повторите запрос позже", NULL, o->ud);
        free(o);
        return;
    }
    Metodnet__GetIndicatorValuesResponse *resp = xcalloc(1, sizeof *resp);
    metodnet__get_indicator_values_response__init(resp);
    resp->period = xstrdup(o->canonical);
    resp->period_start = xstrdup(o->start);
    resp->period_end = xstrdup(o->end);
    size_t rows = reply->elements / 6;
    resp->items = xcalloc(rows + INDICATORS_COUNT, sizeof *resp->items);
    resp->breakdown = xcalloc(rows + 1, sizeof *resp->breakdown);
    bool seen[INDICATORS_COUNT] = {false};
    const char *child_kind = strcmp(o->by, "municipality") == 0   ? "municipality"
                             : strcmp(o->by, "organization") == 0 ? "organization"
                                                                  : o->kind;
    for (size_t r = 0; r < rows; r++) {
        const redisReply *const *e = (const redisReply *const *)reply->element + r * 6;
        bool strings = true;
        for (int k = 0; k < 6; k++)
            if (e[k]->type != REDIS_REPLY_STRING)
                strings = false;
        if (!strings)
            continue;
        const char *bucket = e[0]->str, *name = e[1]->str, *code = e[2]->str, *subject = e[3]->str;
        int idx = s_index(code);
        if (idx < 0)
            continue;
        if (o->indicator[0] && strcmp(o->indicator, code) != 0)
            continue;
        long long num = atoll(e[4]->str), den = atoll(e[5]->str);
        if (bucket[0] == '\0') {
            resp->items[resp->n_items++] = s_value(o, o->kind, o->scope, "", code, "", num, den);
            seen[idx] = true;
        } else if (subject[0]) {
            resp->breakdown[resp->n_breakdown++] = s_value(o, o->kind, o->scope, "", code, subject, num, den);
        } else {
            resp->breakdown[resp->n_breakdown++] = s_value(o, child_kind, bucket, name, code, "", num, den);
        }
    }
    /* every indicator of the catalogue has a row, with an empty denominator when nobody is counted */
    for (int i = 0; i < INDICATORS_COUNT; i++) {
        const char *code = indicators_catalogue()[i].code;
        if (!seen[i] && (!o->indicator[0] || strcmp(o->indicator, code) == 0))
            resp->items[resp->n_items++] = s_value(o, o->kind, o->scope, "", code, "", 0, 0);
    }
    qsort(resp->items, resp->n_items, sizeof *resp->items, s_cmp);
    qsort(resp->breakdown, resp->n_breakdown, sizeof *resp->breakdown, s_cmp);
    o->cb(IND_CODE(OK), NULL, resp, o->ud);
    free(o);
}

static void s_targets(const redisReply *reply, const char *error, void *ud)
{
    values_op *o = ud;
    if (!error && reply && reply->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            if (reply->element[i]->type != REDIS_REPLY_STRING || reply->element[i + 1]->type != REDIS_REPLY_STRING)
                continue;
            int idx = s_index(reply->element[i]->str);
            if (idx >= 0) {
                o->has_target[idx] = true;
                o->target[idx] = strtod(reply->element[i + 1]->str, NULL);
            }
        }
    s_count(o);
}

static const char *s_env_number(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && atoi(v) > 0 ? v : fallback;
}

static void s_count(values_op *o)
{
    char periods[128];
    snprintf(periods, sizeof periods, "%speriods", o->prefix);
    const char *argv[] = {periods,
                          o->prefix,
                          o->kind,
                          o->scope,
                          o->region,
                          o->start,
                          o->end,
                          o->by,
                          s_env_number("METODNET_INDICATORS_YOUNG_AGE", "35"),
                          s_env_number("METODNET_INDICATORS_PERIODS", "8"),
                          s_env_number("METODNET_INDICATORS_BUILD_CHUNK", "2000")};
    if (redis_link_evalsha(o->svc->link, o->svc->values_script, 1, 11, argv, NULL, s_counted, o) != 0) {
        o->cb(IND_CODE(UNAVAILABLE), "Показатели временно недоступны, повторите запрос позже", NULL, o->ud);
        free(o);
    }
}

void ind_values_compute(indicators_service *svc, const char *state_prefix, const char *region, const char *scope_kind,
                        const char *scope_id, const char *period, const char *indicator, const char *by,
                        ind_values_cb cb, void *ud)
{
    values_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->cb = cb;
    o->ud = ud;
    snprintf(o->region, sizeof o->region, "%s", region);
    snprintf(o->kind, sizeof o->kind, "%s", scope_kind);
    snprintf(o->scope, sizeof o->scope, "%s", scope_id);
    snprintf(o->indicator, sizeof o->indicator, "%s", indicator ? indicator : "");
    snprintf(o->by, sizeof o->by, "%s", by ? by : "");
    snprintf(o->prefix, sizeof o->prefix, "%s", state_prefix);
    char error[256];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    if (indicators_period_parse(period, tm.tm_year + 1900, o->start, o->end, o->canonical, sizeof o->canonical, error,
                                sizeof error) != 0) {
        cb(IND_CODE(INVALID_ARGUMENT), error, NULL, ud);
        free(o);
        return;
    }
    if (redis_link_commandf(svc->link, s_targets, o, "HGETALL ind:{r:%s}:targets", region) != 0) {
        cb(IND_CODE(UNAVAILABLE), "Показатели временно недоступны, повторите запрос позже", NULL, ud);
        free(o);
    }
}
