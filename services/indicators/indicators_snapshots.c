/* indicators_snapshots — a frozen copy of every value of a scope and period (the scope's own values and
 * its children's): CreateSnapshot is what the monitoring service calls at a campaign's close; each scope +
 * period has its own version counter (1, 2, … : a reopened campaign's close makes a new version). Stored
 * packed at ind:{r:R}:snap:<id>, indexed by time in ind:{r:R}:snaps; later changes never alter one.
 */
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

typedef struct {
    indicators_service *svc;
    service_call *call;
    Metodnet__IndicatorSnapshot snap;
    Metodnet__GetIndicatorValuesResponse *values;
    char region[16], kind[16], scope[64], period[32], campaign[64], reason[256], id[48], at[40], user[64];
    uint8_t *packed;
    size_t packed_len;
} snap_op;

static void s_snap_free(snap_op *o)
{
    ind_values_free(o->values);
    free(o->snap.values);
    free(o->packed);
    free(o);
}

static void s_fail(snap_op *o)
{
    service_call_fail(o->call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
    s_snap_free(o);
}

static void s_indexed(const redisReply *reply, const char *error, void *ud)
{
    snap_op *o = ud;
    if (error || !reply || reply->type == REDIS_REPLY_ERROR) {
        s_fail(o);
        return;
    }
    service_call_reply(o->call, &o->snap.base);
    s_snap_free(o);
}

static void s_stored(const redisReply *reply, const char *error, void *ud)
{
    snap_op *o = ud;
    if (error || !reply || reply->type == REDIS_REPLY_ERROR ||
        redis_link_commandf(o->svc->link, s_indexed, o, "ZADD ind:{r:%s}:snaps %lld %s", o->region,
                            (long long)clock_unix_ms(), o->id) != 0) {
        s_fail(o);
    }
}

static void s_versioned(const redisReply *reply, const char *error, void *ud)
{
    snap_op *o = ud;
    if (error || !reply || reply->type != REDIS_REPLY_INTEGER) {
        s_fail(o);
        return;
    }
    o->snap.version = reply->integer;
    o->packed_len = protobuf_c_message_get_packed_size(&o->snap.base);
    o->packed = xmalloc(o->packed_len + 1);
    protobuf_c_message_pack(&o->snap.base, o->packed);
    if (redis_link_commandf(o->svc->link, s_stored, o, "SET ind:{r:%s}:snap:%s %b", o->region, o->id, o->packed,
                            o->packed_len) != 0)
        s_fail(o);
}

static void s_numbered(const redisReply *reply, const char *error, void *ud)
{
    snap_op *o = ud;
    if (error || !reply || reply->type != REDIS_REPLY_INTEGER) {
        s_fail(o);
        return;
    }
    snprintf(o->id, sizeof o->id, "%s-s%lld", o->region, reply->integer);
    o->snap.id = o->id;
    if (redis_link_commandf(o->svc->link, s_versioned, o, "HINCRBY ind:{r:%s}:snapver %s|%s|%s 1", o->region, o->kind,
                            o->scope, o->snap.period) != 0)
        s_fail(o);
}

static void s_counted(Metodnet__StatusCode code, const char *message_ru, Metodnet__GetIndicatorValuesResponse *resp,
                      void *ud)
{
    snap_op *o = ud;
    if (code != IND_CODE(OK)) {
        if (code == IND_CODE(INVALID_ARGUMENT)) {
            validation v;
            validation_init(&v);
            validation_add(&v, "period", "%s", message_ru);
            service_call_fail_validation(o->call, &v);
            validation_free(&v);
        } else
            service_call_fail(o->call, code, message_ru);
        s_snap_free(o);
        return;
    }
    o->values = resp;
    snprintf(o->period, sizeof o->period, "%s", resp->period);
    o->snap.period = o->period;
    size_t n = resp->n_items + resp->n_breakdown;
    o->snap.values = xcalloc(n + 1, sizeof *o->snap.values);
    for (size_t i = 0; i < resp->n_items; i++)
        o->snap.values[o->snap.n_values++] = resp->items[i];
    for (size_t i = 0; i < resp->n_breakdown; i++)
        o->snap.values[o->snap.n_values++] = resp->breakdown[i];
    if (redis_link_commandf(o->svc->link, s_numbered, o, "INCR ind:{r:%s}:snapseq", o->region) != 0)
        s_fail(o);
}

static void s_counted_full(Metodnet__StatusCode code, const char *field, const char *message_ru,
                           Metodnet__GetIndicatorValuesResponse *resp, void *ud)
{
    (void)field; /* INVALID_ARGUMENT here is the period's (the indicator is not passed) */
    s_counted(code, message_ru, resp, ud);
}

void ind_snapshot_create(indicators_service *svc, service_call *call, const char *region, const char *kind,
                         const char *scope, const Metodnet__CreateSnapshotRequest *req)
{
    snap_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    metodnet__indicator_snapshot__init(&o->snap);
    snprintf(o->region, sizeof o->region, "%s", region);
    snprintf(o->kind, sizeof o->kind, "%s", kind);
    snprintf(o->scope, sizeof o->scope, "%s", scope);
    snprintf(o->campaign, sizeof o->campaign, "%s", req->campaign_id ? req->campaign_id : "");
    snprintf(o->reason, sizeof o->reason, "%s", req->reason ? req->reason : "");
    const Metodnet__Principal *p = service_call_caller(call);
    snprintf(o->user, sizeof o->user, "%s", p->user_id ? p->user_id : "");
    clock_rfc3339(clock_unix_ms(), o->at, sizeof o->at);
    o->snap.region_id = o->region;
    o->snap.scope_kind = o->kind;
    o->snap.scope_id = o->scope;
    o->snap.campaign_id = o->campaign;
    o->snap.reason = o->reason;
    o->snap.created_at = o->at;
    o->snap.created_by = o->user;
    const char *by = strcmp(kind, "region") == 0         ? "municipality"
                     : strcmp(kind, "municipality") == 0 ? "organization"
                                                         : "";
    /* the catalogue's and the region's own indicators (indicators_own_values.c) */
    ind_values_full(svc, region, kind, scope, req->period, "", by, s_counted_full, o);
}

/* ---------- reading ---------- */

/* May the caller see a snapshot of this scope? Region roles: their region's; a municipal methodologist:
 * their municipality's; a school: its own. */
static bool s_visible(const Metodnet__Principal *p, const Metodnet__IndicatorSnapshot *s)
{
    if (scope_is_global(p))
        return true;
    if (!s->region_id || !p->region_id || strcmp(s->region_id, p->region_id) != 0)
        return false;
    if (p->role == METODNET__ROLE__ROLE_TEACHER)
        return false;
    switch (p->scope_kind) {
    case METODNET__SCOPE_KIND__SCOPE_KIND_REGION:
        return true;
    case METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY:
        return strcmp(s->scope_kind, "municipality") == 0 && strcmp(s->scope_id, p->scope_id) == 0;
    case METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION:
        return strcmp(s->scope_kind, "organization") == 0 && strcmp(s->scope_id, p->scope_id) == 0;
    default:
        return false;
    }
}

typedef struct {
    service_call *call;
    indicators_service *svc;
    char region[16];
    Metodnet__ListSnapshotsRequest filter;
    char kind[16], scope[64], period[32], campaign[64];
    int limit;
} list_op;

static bool s_match(const char *want, const char *have)
{
    return !want[0] || (have && strcmp(want, have) == 0);
}

static void s_listed_values(const redisReply *reply, const char *error, void *ud)
{
    list_op *o = ud;
    if (error || !reply || reply->type != REDIS_REPLY_ARRAY) {
        service_call_fail(o->call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        free(o);
        return;
    }
    Metodnet__ListSnapshotsResponse resp = METODNET__LIST_SNAPSHOTS_RESPONSE__INIT;
    Metodnet__IndicatorSnapshot **items = xcalloc(reply->elements + 1, sizeof *items);
    size_t n = 0;
    const Metodnet__Principal *p = service_call_caller(o->call);
    for (size_t i = 0; i < reply->elements && (int)n < o->limit; i++) {
        const redisReply *e = reply->element[i];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        Metodnet__IndicatorSnapshot *s = metodnet__indicator_snapshot__unpack(NULL, e->len, (const uint8_t *)e->str);
        if (!s)
            continue;
        if (s_visible(p, s) && s_match(o->kind, s->scope_kind) && s_match(o->scope, s->scope_id) &&
            s_match(o->period, s->period) && s_match(o->campaign, s->campaign_id))
            items[n++] = s;
        else
            metodnet__indicator_snapshot__free_unpacked(s, NULL);
    }
    resp.items = items;
    resp.n_items = n;
    resp.next_cursor = "";
    service_call_reply(o->call, &resp.base);
    for (size_t i = 0; i < n; i++)
        metodnet__indicator_snapshot__free_unpacked(items[i], NULL);
    free(items);
    free(o);
}

static void s_listed_ids(const redisReply *reply, const char *error, void *ud)
{
    list_op *o = ud;
    if (error || !reply || reply->type != REDIS_REPLY_ARRAY) {
        service_call_fail(o->call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        free(o);
        return;
    }
    if (reply->elements == 0) {
        Metodnet__ListSnapshotsResponse resp = METODNET__LIST_SNAPSHOTS_RESPONSE__INIT;
        service_call_reply(o->call, &resp.base);
        free(o);
        return;
    }
    size_t argc = reply->elements + 1;
    const char **argv = xcalloc(argc, sizeof *argv);
    char **keys = xcalloc(argc, sizeof *keys);
    argv[0] = "MGET";
    for (size_t i = 0; i < reply->elements; i++) {
        keys[i] = xcalloc(1, 160);
        snprintf(keys[i], 160, "ind:{r:%s}:snap:%.64s", o->region,
                 reply->element[i]->type == REDIS_REPLY_STRING ? reply->element[i]->str : "");
        argv[i + 1] = keys[i];
    }
    if (redis_link_command(o->svc->link, s_listed_values, o, (int)argc, argv, NULL) != 0) {
        service_call_fail(o->call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        free(o);
    }
    for (size_t i = 0; i < reply->elements; i++)
        free(keys[i]);
    free(keys);
    free(argv);
}

void ind_snapshot_list(indicators_service *svc, service_call *call, const char *region,
                       const Metodnet__ListSnapshotsRequest *req)
{
    list_op *o = xcalloc(1, sizeof *o);
    o->call = call;
    o->svc = svc;
    snprintf(o->region, sizeof o->region, "%s", region);
    snprintf(o->kind, sizeof o->kind, "%s", req->scope_kind ? req->scope_kind : "");
    snprintf(o->scope, sizeof o->scope, "%s", req->scope_id ? req->scope_id : "");
    snprintf(o->period, sizeof o->period, "%s", req->period ? req->period : "");
    snprintf(o->campaign, sizeof o->campaign, "%s", req->campaign_id ? req->campaign_id : "");
    o->limit = req->limit > 0 && req->limit <= 500 ? req->limit : 100;
    /* the newest 1000 snapshots of the region, filtered here */
    if (redis_link_commandf(svc->link, s_listed_ids, o, "ZREVRANGE ind:{r:%s}:snaps 0 999", region) != 0) {
        service_call_fail(call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        free(o);
    }
}

static void s_got(const redisReply *reply, const char *error, void *ud)
{
    service_call *call = ud;
    if (error || !reply) {
        service_call_fail(call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        return;
    }
    Metodnet__IndicatorSnapshot *s =
        reply->type == REDIS_REPLY_STRING
            ? metodnet__indicator_snapshot__unpack(NULL, reply->len, (const uint8_t *)reply->str)
            : NULL;
    if (!s || !s_visible(service_call_caller(call), s)) {
        service_call_fail(call, IND_CODE(NOT_FOUND), "Снимок показателей не найден");
        if (s)
            metodnet__indicator_snapshot__free_unpacked(s, NULL);
        return;
    }
    service_call_reply(call, &s->base);
    metodnet__indicator_snapshot__free_unpacked(s, NULL);
}

void ind_snapshot_get(indicators_service *svc, service_call *call, const char *id)
{
    char region[16];
    const char *dash = id ? strchr(id, '-') : NULL;
    bool ok = dash && dash > id && (size_t)(dash - id) < sizeof region && dash[1] == 's' && dash[2];
    for (const char *p = id; ok && *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || *p == '-'))
            ok = false;
    if (!ok || strlen(id) > 40) {
        service_call_fail(call, IND_CODE(NOT_FOUND), "Снимок показателей не найден");
        return;
    }
    memcpy(region, id, (size_t)(dash - id));
    region[dash - id] = '\0';
    if (redis_link_commandf(svc->link, s_got, call, "GET ind:{r:%s}:snap:%s", region, id) != 0)
        service_call_fail(call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
}
