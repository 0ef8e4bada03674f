/* indicators — the indicators service: who may see which scope, the method table (catalogue, values,
 * targets, snapshots, recommendations, recompute) and the service's lifecycle. The incremental state is
 * fed by indicators_consumer.c; values are counted by indicators_values.c.
 *
 * Access: a region's roles see the region and everything in it; a municipal methodologist their
 * municipality and its organizations; a school administrator (and the school's system key) their
 * organization; a teacher no territory's indicators. Targets: the region's administrator only.
 */
#include "indicators.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "indicators_internal.h"
#include "indicators_own.h"
#include "log.h"
#include "scope.h"
#include "xalloc.h"

static const char *const s_unavailable_ru = "Показатели временно недоступны, повторите запрос позже";
static const char *const s_denied_ru = "Нет доступа к показателям этой территории";

/* ---------- scope of a request ---------- */

static bool s_id_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* the region of an id "07-m3" (or of a region id "07") */
static void s_region_of(const char *id, char out[16])
{
    const char *dash = strchr(id, '-');
    size_t n = dash ? (size_t)(dash - id) : strlen(id);
    if (n >= 16)
        n = 15;
    memcpy(out, id, n);
    out[n] = '\0';
}

typedef struct ind_scope_op ind_scope_op;
typedef void (*ind_scope_cb)(ind_scope_op *s);

/* a request's scope, resolved and checked against the caller */
struct ind_scope_op {
    indicators_service *svc;
    service_call *call;
    const ProtobufCMessage *request;
    char region[16], kind[16], id[64];
    ind_scope_cb then;
    void *extra;
};

static bool s_set(const char *s)
{
    return s && s[0];
}

static void s_org_checked(const redisReply *reply, const char *error, void *ud)
{
    ind_scope_op *s = ud;
    const Metodnet__Principal *p = service_call_caller(s->call);
    if (error) {
        service_call_fail(s->call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        free(s);
        return;
    }
    if (!reply || reply->type != REDIS_REPLY_STRING || !p->scope_id || strcmp(reply->str, p->scope_id) != 0) {
        service_call_fail(s->call, IND_CODE(PERMISSION_DENIED), s_denied_ru);
        free(s);
        return;
    }
    s->then(s);
}

/* Resolves (kind, id) of the request with the caller's default, checks access, then s->then(s) (or fails
 * the call and frees s). */
static void s_resolve(ind_scope_op *s, const char *kind, const char *id, const char *region_hint)
{
    const Metodnet__Principal *p = service_call_caller(s->call);
    Metodnet__Role role = p->role;
    if (role == METODNET__ROLE__ROLE_TEACHER || p->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF ||
        role == METODNET__ROLE__ROLE_UNSPECIFIED) {
        service_call_fail(s->call, IND_CODE(PERMISSION_DENIED), "Педагогу показатели территорий недоступны");
        free(s);
        return;
    }
    if (!s_set(kind) && !s_set(id)) {
        switch (p->scope_kind) {
        case METODNET__SCOPE_KIND__SCOPE_KIND_REGION:
            kind = "region";
            id = p->scope_id;
            break;
        case METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY:
            kind = "municipality";
            id = p->scope_id;
            break;
        case METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION:
            kind = "organization";
            id = p->scope_id;
            break;
        default:
            if (s_set(region_hint)) {
                kind = "region";
                id = region_hint;
            }
        }
    } else if (!s_set(kind))
        kind = "region";
    validation v;
    validation_init(&v);
    if (!kind ||
        (strcmp(kind, "region") != 0 && strcmp(kind, "municipality") != 0 && strcmp(kind, "organization") != 0))
        validation_add(&v, "scopeKind", "Вид территории: region, municipality или organization");
    if (!s_id_ok(id, 40))
        validation_add(&v, "scopeId", "Укажите территорию (идентификатор региона, муниципалитета или организации)");
    else if (kind && strcmp(kind, "region") == 0 && strchr(id, '-'))
        validation_add(&v, "scopeId", "Код региона пишется без дефиса, например 07");
    else if (kind && strcmp(kind, "region") != 0 && !strchr(id, '-'))
        validation_add(&v, "scopeId",
                       "Идентификатор муниципалитета или организации начинается с кода региона: 07-m1, 07-o3");
    if (v.n > 0) {
        service_call_fail_validation(s->call, &v);
        validation_free(&v);
        free(s);
        return;
    }
    validation_free(&v);
    snprintf(s->kind, sizeof s->kind, "%s", kind);
    snprintf(s->id, sizeof s->id, "%s", id);
    s_region_of(id, s->region);
    if (scope_is_global(p)) {
        s->then(s);
        return;
    }
    bool ok = false;
    bool need_org_lookup = false;
    const char *caller_region = s_set(p->region_id) ? p->region_id : "";
    switch (p->scope_kind) {
    case METODNET__SCOPE_KIND__SCOPE_KIND_REGION:
        ok = strcmp(s->region, p->scope_id ? p->scope_id : "") == 0;
        break;
    case METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY:
        if (strcmp(s->kind, "municipality") == 0)
            ok = strcmp(s->id, p->scope_id ? p->scope_id : "") == 0;
        else if (strcmp(s->kind, "organization") == 0)
            need_org_lookup = strcmp(s->region, caller_region) == 0;
        break;
    case METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION:
        ok = strcmp(s->kind, "organization") == 0 && strcmp(s->id, p->scope_id ? p->scope_id : "") == 0;
        break;
    default:
        break;
    }
    if (need_org_lookup) {
        if (redis_link_commandf(s->svc->link, s_org_checked, s, "HGET ind:{r:%s}:o:%s mun", s->region, s->id) != 0) {
            service_call_fail(s->call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
            free(s);
        }
        return;
    }
    if (!ok) {
        service_call_fail(s->call, IND_CODE(PERMISSION_DENIED), s_denied_ru);
        free(s);
        return;
    }
    s->then(s);
}

static ind_scope_op *s_scope_new(void *ud, service_call *call, const ProtobufCMessage *r, ind_scope_cb then)
{
    ind_scope_op *s = xcalloc(1, sizeof *s);
    s->svc = ud;
    s->call = call;
    s->request = r;
    s->then = then;
    return s;
}

/* the caller's region, for region-wide requests (the catalogue, targets) */
static bool s_caller_region(service_call *call, const char *given, char out[16])
{
    const Metodnet__Principal *p = service_call_caller(call);
    if (scope_is_global(p)) {
        if (!s_id_ok(given, 15))
            return false;
        snprintf(out, 16, "%s", given);
        return true;
    }
    const char *r = s_set(p->region_id) ? p->region_id : "";
    if (!s_id_ok(r, 15) || (s_set(given) && strcmp(given, r) != 0))
        return false;
    snprintf(out, 16, "%s", r);
    return true;
}

/* ---------- catalogue ---------- */

static void s_list_indicators(service_call *call, const ProtobufCMessage *r, void *ud)
{
    indicators_service *svc = ud;
    const Metodnet__ListIndicatorsRequest *req = (const Metodnet__ListIndicatorsRequest *)r;
    char region[16];
    if (!s_caller_region(call, req->region_id, region)) {
        if (s_set(req->region_id) && !scope_is_global(service_call_caller(call)))
            service_call_fail(call, IND_CODE(PERMISSION_DENIED), s_denied_ru);
        else
            service_call_fail(call, IND_CODE(INVALID_ARGUMENT), "Укажите регион (regionId)");
        return;
    }
    ind_catalogue_list(svc, call, region); /* with the region's own indicators (indicators_formulas.c) */
}

/* ---------- values ---------- */

static void s_values_scoped(ind_scope_op *s)
{
    const Metodnet__GetIndicatorValuesRequest *req = (const Metodnet__GetIndicatorValuesRequest *)s->request;
    const char *by = s_set(req->by) ? req->by : "";
    validation v;
    validation_init(&v);
    if (by[0] && strcmp(by, "municipality") != 0 && strcmp(by, "organization") != 0 && strcmp(by, "subject") != 0)
        validation_add(&v, "by", "Разрез: municipality, organization или subject");
    else if (strcmp(by, "municipality") == 0 && strcmp(s->kind, "region") != 0)
        validation_add(&v, "by", "Разрез по муниципалитетам — только для региона");
    else if (strcmp(by, "organization") == 0 && strcmp(s->kind, "organization") == 0)
        validation_add(&v, "by", "Разрез по организациям — для региона или муниципалитета");
    if (v.n > 0) {
        service_call_fail_validation(s->call, &v);
        validation_free(&v);
        free(s);
        return;
    }
    validation_free(&v);
    /* the catalogue's and the region's own indicators, JSON or a file (indicators_own_values.c) */
    ind_values_request(s->svc, s->call, s->region, s->kind, s->id, req);
    free(s);
}

static void s_get_values(service_call *call, const ProtobufCMessage *r, void *ud)
{
    const Metodnet__GetIndicatorValuesRequest *req = (const Metodnet__GetIndicatorValuesRequest *)r;
    s_resolve(s_scope_new(ud, call, r, s_values_scoped), req->scope_kind, req->scope_id, req->region_id);
}

/* ---------- targets ---------- */

typedef struct {
    indicators_service *svc;
    service_call *call;
    Metodnet__IndicatorTarget t;
    char region[16], indicator[40], at[40];
} target_op;

static void s_target_set(const redisReply *reply, const char *error, void *ud)
{
    target_op *o = ud;
    if (error || !reply || reply->type != REDIS_REPLY_INTEGER) {
        service_call_fail(o->call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        free(o);
        return;
    }
    o->t.version = reply->integer;
    service_call_reply(o->call, &o->t.base);
    free(o);
}

static void s_target_written(const redisReply *reply, const char *error, void *ud)
{
    target_op *o = ud;
    if (error || !reply || reply->type != REDIS_REPLY_INTEGER ||
        redis_link_commandf(o->svc->link, s_target_set, o, "HINCRBY ind:{r:%s}:targetver %s 1", o->region,
                            o->indicator) != 0) {
        service_call_fail(o->call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        free(o);
    }
}

static void s_set_target(service_call *call, const ProtobufCMessage *r, void *ud)
{
    indicators_service *svc = ud;
    const Metodnet__SetIndicatorTargetRequest *req = (const Metodnet__SetIndicatorTargetRequest *)r;
    const Metodnet__Principal *p = service_call_caller(call);
    if (!scope_is_global(p) &&
        !(p->role == METODNET__ROLE__ROLE_REGION_ADMIN && p->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_REGION)) {
        service_call_fail(call, IND_CODE(PERMISSION_DENIED), "Цели показателей задаёт администратор региона");
        return;
    }
    char region[16];
    const indicator_def *d = indicators_find(req->indicator);
    if (!d && s_caller_region(call, req->region_id, region)) {
        ind_own_target(svc, call, region, req); /* an own indicator's (indicators_formulas.c) */
        return;
    }
    validation v;
    validation_init(&v);
    if (!d)
        validation_add(&v, "indicator", "Нет такого показателя (I1…I13)");
    if (!s_caller_region(call, req->region_id, region)) {
        if (s_set(req->region_id) && !scope_is_global(p)) {
            validation_free(&v);
            service_call_fail(call, IND_CODE(PERMISSION_DENIED),
                              "Цели показателей задаёт администратор своего региона");
            return;
        }
        validation_add(&v, "regionId", "Укажите регион");
    }
    if (d && d->share && !(req->target >= 0 && req->target <= 100))
        validation_add(&v, "target", "Цель доли — от 0 до 100 %%");
    if (d && !d->share && !(req->target >= 0 && req->target <= 1000000))
        validation_add(&v, "target", "Цель количества — от 0 до 1000000");
    if (v.n > 0) {
        service_call_fail_validation(call, &v);
        validation_free(&v);
        return;
    }
    validation_free(&v);
    ind_target_store(svc, call, region, d->code, req->target);
}

void ind_target_store(indicators_service *svc, service_call *call, const char *region, const char *code, double target)
{
    const Metodnet__Principal *p = service_call_caller(call);
    target_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    metodnet__indicator_target__init(&o->t);
    snprintf(o->region, sizeof o->region, "%s", region);
    snprintf(o->indicator, sizeof o->indicator, "%s", code);
    clock_rfc3339(clock_unix_ms(), o->at, sizeof o->at);
    o->t.region_id = o->region;
    o->t.indicator = o->indicator;
    /* one decimal, as values (half away from zero: own indicators' targets may be negative) */
    o->t.target = (target < 0 ? -1 : 1) * (double)(long long)(fabs(target) * 10.0 + 0.5) / 10.0;
    o->t.updated_at = o->at;
    o->t.updated_by = p->user_id ? p->user_id : (char *)"";
    char value[48];
    snprintf(value, sizeof value, "%.1f", o->t.target);
    /* the target, then its version counter */
    if (redis_link_commandf(svc->link, s_target_written, o, "HSET ind:{r:%s}:targets %s %s", region, o->indicator,
                            value) != 0) {
        service_call_fail(call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        free(o);
    }
}

/* ---------- snapshots, recommendations ---------- */

static void s_snapshot_scoped(ind_scope_op *s)
{
    const Metodnet__Principal *p = service_call_caller(s->call);
    bool may = scope_is_global(p) || p->role == METODNET__ROLE__ROLE_REGION_ADMIN ||
               p->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST;
    if (!may) {
        service_call_fail(s->call, IND_CODE(PERMISSION_DENIED),
                          "Снимок показателей делает региональный оператор или муниципальная служба");
        free(s);
        return;
    }
    ind_snapshot_create(s->svc, s->call, s->region, s->kind, s->id,
                        (const Metodnet__CreateSnapshotRequest *)s->request);
    free(s);
}

static void s_create_snapshot(service_call *call, const ProtobufCMessage *r, void *ud)
{
    const Metodnet__CreateSnapshotRequest *req = (const Metodnet__CreateSnapshotRequest *)r;
    s_resolve(s_scope_new(ud, call, r, s_snapshot_scoped), req->scope_kind, req->scope_id, req->region_id);
}

static void s_list_snapshots(service_call *call, const ProtobufCMessage *r, void *ud)
{
    const Metodnet__ListSnapshotsRequest *req = (const Metodnet__ListSnapshotsRequest *)r;
    const Metodnet__Principal *p = service_call_caller(call);
    char region[16];
    if (p->role == METODNET__ROLE__ROLE_TEACHER || p->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF) {
        service_call_fail(call, IND_CODE(PERMISSION_DENIED), "Педагогу показатели территорий недоступны");
        return;
    }
    if (!s_caller_region(call, req->region_id, region)) {
        service_call_fail(call, IND_CODE(PERMISSION_DENIED), s_denied_ru);
        return;
    }
    ind_snapshot_list(ud, call, region, req);
}

static void s_get_snapshot(service_call *call, const ProtobufCMessage *r, void *ud)
{
    ind_snapshot_get(ud, call, ((const Metodnet__GetRequest *)r)->id);
}

static void s_recommendations_scoped(ind_scope_op *s)
{
    ind_recommendations_list(s->svc, s->call, s->region, s->kind, s->id,
                             (const Metodnet__ListRecommendationsRequest *)s->request);
    free(s);
}

static void s_list_recommendations(service_call *call, const ProtobufCMessage *r, void *ud)
{
    const Metodnet__ListRecommendationsRequest *req = (const Metodnet__ListRecommendationsRequest *)r;
    s_resolve(s_scope_new(ud, call, r, s_recommendations_scoped), req->scope_kind, req->scope_id, req->region_id);
}

static void s_set_recommendation_status(service_call *call, const ProtobufCMessage *r, void *ud)
{
    ind_recommendation_status(ud, call, (const Metodnet__SetRecommendationStatusRequest *)r);
}

static void s_recompute(service_call *call, const ProtobufCMessage *r, void *ud)
{
    ind_recompute(ud, call, (const Metodnet__RecomputeRequest *)r);
}

/* ---------- own indicators, the yearly report ---------- */

static void s_create_indicator(service_call *call, const ProtobufCMessage *r, void *ud)
{
    ind_own_create(ud, call, (const Metodnet__CreateIndicatorRequest *)r);
}

static void s_update_indicator(service_call *call, const ProtobufCMessage *r, void *ud)
{
    ind_own_update(ud, call, (const Metodnet__UpdateIndicatorRequest *)r);
}

static void s_delete_indicator(service_call *call, const ProtobufCMessage *r, void *ud)
{
    ind_own_delete(ud, call, (const Metodnet__DeleteIndicatorRequest *)r);
}

static void s_report_scoped(ind_scope_op *s)
{
    ind_yearly_report(s->svc, s->call, s->region, s->kind, s->id, (const Metodnet__YearlyReportRequest *)s->request);
    free(s);
}

static void s_yearly_report(service_call *call, const ProtobufCMessage *r, void *ud)
{
    const Metodnet__YearlyReportRequest *req = (const Metodnet__YearlyReportRequest *)r;
    s_resolve(s_scope_new(ud, call, r, s_report_scoped), req->scope_kind, req->scope_id, req->region_id);
}

static const service_handler_entry s_handlers[] = {
    {"ListIndicators", s_list_indicators},
    {"GetIndicatorValues", s_get_values},
    {"SetIndicatorTarget", s_set_target},
    {"CreateSnapshot", s_create_snapshot},
    {"ListSnapshots", s_list_snapshots},
    {"GetSnapshot", s_get_snapshot},
    {"ListRecommendations", s_list_recommendations},
    {"SetRecommendationStatus", s_set_recommendation_status},
    {"Recompute", s_recompute},
    {"CreateIndicator", s_create_indicator},
    {"UpdateIndicator", s_update_indicator},
    {"DeleteIndicator", s_delete_indicator},
    {"YearlyReport", s_yearly_report},
};

static const service_methods s_service_methods = {&metodnet__indicators__descriptor, s_handlers,
                                                  sizeof s_handlers / sizeof s_handlers[0]};

const service_methods *indicators_methods(void)
{
    return &s_service_methods;
}

#define IND_LUA_LIST(fn, source)                                                                                       \
    const char *const *fn(size_t *n)                                                                                   \
    {                                                                                                                  \
        static const char *const scripts[] = {source};                                                                 \
        *n = 1;                                                                                                        \
        return scripts;                                                                                                \
    }
IND_LUA_LIST(indicators_lua_person, ind_lua_person)
IND_LUA_LIST(indicators_lua_apply, ind_lua_apply_own)
IND_LUA_LIST(indicators_lua_values, ind_lua_values_own)
IND_LUA_LIST(indicators_lua_compare, ind_lua_compare)
IND_LUA_LIST(indicators_lua_dead, ind_lua_dead)
IND_LUA_LIST(indicators_lua_drop, ind_lua_drop)

/* ---------- lifecycle ---------- */

static void s_free_parts(indicators_service *svc)
{
    service_client_destroy(&svc->broker);
    ind_consumer_destroy(&svc->consumer);
    free(svc);
}

indicators_service *indicators_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    indicators_service *svc = calloc(1, sizeof *svc);
    if (svc == NULL)
        return NULL;
    svc->loop = loop;
    svc->link = link;
    svc->broker = service_client_new(loop, zmq_context, cfg->broker_endpoint, cfg->broker_curve);
    svc->apply_script = redis_link_script(link, ind_lua_apply);
    svc->values_script = redis_link_script(link, ind_lua_values);
    svc->dead_script = redis_link_script(link, ind_lua_dead);
    svc->drop_script = redis_link_script(link, ind_lua_drop);
    svc->compare_script = redis_link_script(link, ind_lua_compare);
    if (!svc->broker || !svc->apply_script || !svc->values_script || !svc->dead_script || !svc->drop_script ||
        !svc->compare_script) {
        s_free_parts(svc);
        return NULL;
    }
    svc->consumer = ind_consumer_new(svc, cfg);
    svc->worker = service_worker_new(loop, zmq_context, cfg->broker_endpoint, cfg->broker_curve, "indicators",
                                     cfg->concurrency, cfg->heartbeat, indicators_methods(), svc);
    if (svc->worker == NULL || svc->consumer == NULL) {
        s_free_parts(svc);
        return NULL;
    }
    return svc;
}

static void s_release(void *service)
{
    s_free_parts(service);
}

void indicators_shutdown(indicators_service *svc, void (*done)(void *ud), void *ud)
{
    service_worker_stop_service(svc->worker, 3000, s_release, svc, done, ud);
}
