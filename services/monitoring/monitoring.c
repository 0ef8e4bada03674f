/* monitoring — the monitoring service: the method table (campaigns on the entity engine, the report flows
 * of monitoring_reports.c), the open of a campaign (its scope read from the registry through the broker
 * and fixed in mon:{r:R}:req:<campaign> before the transition), the close (the campaign kind's stored
 * hook freezes the approved values as snapshot version N, then asks the indicators service for its
 * snapshot of the period; unavailable → the campaign's snapshot stands and the indicator part is
 * recorded as "pending" and asked again at each read of that snapshot), the snapshots' reads and the
 * service's lifecycle.
 */
#include "monitoring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "monitoring_internal.h"
#include "registry_service.pb-c.h"
#include "xalloc.h"

#define SVC(ud) ((monitoring_service *)(ud))

/* ---------- open: the scope from the registry ---------- */

typedef struct {
    monitoring_service *svc;
    service_call *call;
    Metodnet__MonitoringCampaignActionRequest *req; /* the call's request (lives until it is answered) */
    Metodnet__MonitoringCampaign *campaign;
    char **pairs; /* organization, municipality, … (malloc'd) */
    size_t n_pairs;
    char cursor[200];
} open_op;

static void s_open_free(open_op *o)
{
    for (size_t i = 0; i < o->n_pairs; i++)
        free(o->pairs[i]);
    free(o->pairs);
    if (o->campaign)
        protobuf_c_message_free_unpacked(&o->campaign->base, NULL);
    free(o);
}

static void s_open_fail(open_op *o, Metodnet__StatusCode code, const char *message_ru)
{
    service_call_fail(o->call, code, message_ru);
    s_open_free(o);
}

static void s_scope_written(const redisReply *reply, const char *error, void *ud)
{
    open_op *o = ud;
    if (error || reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        s_open_fail(o, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
        return;
    }
    o->req->required_count = (int32_t)(o->n_pairs / 2);
    entity_transition(&o->svc->engine, o->call, &o->req->base, &monitoring_campaign_kind, "id");
    s_open_free(o);
}

static void s_write_scope(open_op *o)
{
    char key[MON_KEY_MAX];
    mon_key(key, sizeof key, o->campaign->region_id, "req", o->campaign->id);
    size_t argc = 1 + o->n_pairs;
    const char **argv = xmalloc(sizeof *argv * argc);
    size_t *argvlen = xmalloc(sizeof *argvlen * argc);
    argv[0] = key, argvlen[0] = strlen(key);
    for (size_t i = 0; i < o->n_pairs; i++)
        argv[1 + i] = o->pairs[i], argvlen[1 + i] = strlen(o->pairs[i]);
    int rc = redis_link_evalsha(o->svc->link, o->svc->scope_script, 1, (int)argc, argv, argvlen, s_scope_written, o);
    free(argv);
    free(argvlen);
    if (rc != 0)
        s_open_fail(o, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
}

static void s_list_page(open_op *o);

static void s_page(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    open_op *o = ud;
    if (status->code != MON_CODE(OK)) {
        log_error(service_call_request_id(o->call), "реестр не ответил: %s", status->message ? status->message : "");
        s_open_fail(o, MON_CODE(UNAVAILABLE), "Реестр временно недоступен, повторите запрос позже");
        return;
    }
    const Metodnet__ListOrganizationsResponse *r = (const Metodnet__ListOrganizationsResponse *)response;
    if (o->n_pairs / 2 + r->n_items > MON_MAX_ORGS) {
        s_open_fail(o, MON_CODE(UNPROCESSABLE), "В охвате кампании больше 20 000 организаций");
        return;
    }
    o->pairs = xrealloc(o->pairs, sizeof *o->pairs * (o->n_pairs + 2 * r->n_items + 1));
    for (size_t i = 0; i < r->n_items; i++) {
        o->pairs[o->n_pairs++] = xstrdup(r->items[i]->id);
        o->pairs[o->n_pairs++] = xstrdup(r->items[i]->municipality_id ? r->items[i]->municipality_id : "");
    }
    if (mon_set(r->next_cursor) && strlen(r->next_cursor) < sizeof o->cursor) {
        snprintf(o->cursor, sizeof o->cursor, "%s", r->next_cursor);
        s_list_page(o);
        return;
    }
    s_write_scope(o);
}

static void s_list_page(open_op *o)
{
    Metodnet__ListOrganizationsRequest list = METODNET__LIST_ORGANIZATIONS_REQUEST__INIT;
    list.limit = 500;
    list.cursor = o->cursor;
    list.region_id = o->campaign->region_id;
    list.municipality_id = o->campaign->municipality_id;
    list.kind = o->campaign->organization_kind;
    service_client_request r = {.service = "registry",
                                .method = "ListOrganizations",
                                .request = &list.base,
                                .response = &metodnet__list_organizations_response__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(o->call),
                                .timeout_ms = 10000};
    if (service_client_call(o->svc->broker, &r, s_page, o) != 0)
        s_open_fail(o, MON_CODE(UNAVAILABLE), "Реестр временно недоступен, повторите запрос позже");
}

static void s_open_campaign(const Metodnet__MonitoringCampaign *c, Metodnet__StatusCode code, const char *message_ru,
                            void *ud)
{
    open_op *o = ud;
    const Metodnet__Principal *caller = service_call_caller(o->call);
    if (c == NULL || !entity_kind_allows(&monitoring_campaign_kind, caller, &c->base, SCOPE_READ)) {
        s_open_fail(o, c ? MON_CODE(NOT_FOUND) : code, c ? monitoring_campaign_kind.not_found_ru : message_ru);
        return;
    }
    if (!monitoring_manages(caller, c->region_id, c->municipality_id) ||
        c->status != METODNET__MONITORING_CAMPAIGN_STATUS__MONITORING_CAMPAIGN_STATUS_DRAFT) {
        /* the engine answers: 403, or 409 for a campaign open already */
        o->req->required_count = 0;
        entity_transition(&o->svc->engine, o->call, &o->req->base, &monitoring_campaign_kind, "id");
        s_open_free(o);
        return;
    }
    size_t len = protobuf_c_message_get_packed_size(&c->base);
    uint8_t *buf = xmalloc(len ? len : 1);
    protobuf_c_message_pack(&c->base, buf);
    o->campaign = metodnet__monitoring_campaign__unpack(NULL, len, buf);
    free(buf);
    if (o->campaign == NULL) {
        s_open_fail(o, MON_CODE(INTERNAL), monitoring_unavailable_ru);
        return;
    }
    s_list_page(o);
}

static void s_action(service_call *call, const ProtobufCMessage *request, void *ud, const char *action)
{
    /* the request is the call's until it is answered; its server-owned fields are set here */
    Metodnet__MonitoringCampaignActionRequest *r = (Metodnet__MonitoringCampaignActionRequest *)request;
    mon_replace(&r->action, action);
    r->required_count = 0;
    if (strcmp(action, "open") != 0) {
        entity_transition(&SVC(ud)->engine, call, request, &monitoring_campaign_kind, "id");
        return;
    }
    open_op *o = xcalloc(1, sizeof *o);
    o->svc = SVC(ud);
    o->call = call;
    o->req = r;
    monitoring_campaign(o->svc, mon_set(r->id) ? r->id : "", false, s_open_campaign, o);
}

/* ---------- close: the snapshot, the indicators service ---------- */

typedef struct {
    monitoring_service *svc;
    service_call *call;
    Metodnet__MonitoringCampaign *campaign; /* a copy of the stored state */
    int64_t version;                        /* the snapshot's */
    char snap_key[MON_KEY_MAX];
    /* a retry on read (GetSnapshot of a pending one): the answer, its mark updated; NULL at a close */
    Metodnet__CampaignSnapshot *answer;
    char mark[120];
} close_op;

static void s_close_done(close_op *o)
{
    if (o->answer) {
        mon_replace(&o->answer->indicator_snapshot, o->mark);
        service_call_reply(o->call, &o->answer->base);
        protobuf_c_message_free_unpacked(&o->answer->base, NULL);
    } else {
        service_call_reply(o->call, &o->campaign->base);
    }
    protobuf_c_message_free_unpacked(&o->campaign->base, NULL);
    free(o);
}

static void s_ind_recorded(const redisReply *reply, const char *error, void *ud)
{
    close_op *o = ud;
    if (error || reply == NULL || reply->type == REDIS_REPLY_ERROR)
        log_error(service_call_request_id(o->call), "отметка снимка показателей не записана: %s",
                  error   ? error
                  : reply ? reply->str
                          : "?");
    s_close_done(o);
}

static void s_indicators_answered(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    close_op *o = ud;
    char *mark = o->mark;
    size_t mark_size = sizeof o->mark;
    if (status->code == MON_CODE(OK) && response != NULL) {
        const Metodnet__IndicatorsSnapshotAnswer *a = (const Metodnet__IndicatorsSnapshotAnswer *)response;
        snprintf(mark, mark_size, "created:%s", a->id ? a->id : "");
    } else {
        log_error(service_call_request_id(o->call),
                  "служба показателей не сделала снимок периода %s кампании %s (%s): снимок кампании сохранён, "
                  "снимок показателей отложен (pending)",
                  o->campaign->period, o->campaign->id, status->message ? status->message : "");
        snprintf(mark, mark_size, "pending");
    }
    char pending[MON_KEY_MAX], member[160];
    mon_key(pending, sizeof pending, o->campaign->region_id, "ind", "pending");
    snprintf(member, sizeof member, "%s:%lld", o->campaign->id, (long long)o->version);
    int rc = strcmp(mark, "pending") == 0
                 ? redis_link_commandf(o->svc->link, s_ind_recorded, o, "SADD %s %s", pending, member)
                 : redis_link_commandf(o->svc->link, s_ind_recorded, o, "HSET %s @ind %s", o->snap_key, mark);
    if (rc != 0)
        s_close_done(o);
}

static void s_ask_indicators(close_op *o)
{
    const Metodnet__MonitoringCampaign *c = o->campaign;
    Metodnet__IndicatorsSnapshotCall req = METODNET__INDICATORS_SNAPSHOT_CALL__INIT;
    char reason[160];
    snprintf(reason, sizeof reason, "закрытие кампании мониторинга %s (снимок %lld)", c->id, (long long)o->version);
    req.region_id = c->region_id;
    req.scope_kind = mon_set(c->municipality_id) ? "municipality" : "region";
    req.scope_id = mon_set(c->municipality_id) ? c->municipality_id : c->region_id;
    req.period = c->period;
    req.campaign_id = c->id;
    req.reason = reason;
    service_client_request r = {.service = "indicators",
                                .method = "CreateSnapshot",
                                .request = &req.base,
                                .response = &metodnet__indicators_snapshot_answer__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(o->call),
                                .timeout_ms = 3000};
    if (service_client_call(o->svc->broker, &r, s_indicators_answered, o) != 0) {
        Metodnet__Status st = METODNET__STATUS__INIT;
        st.code = MON_CODE(UNAVAILABLE);
        st.message = "брокер недоступен";
        s_indicators_answered(&st, NULL, o);
    }
}

static void s_snapshot_written(const redisReply *reply, const char *error, void *ud)
{
    close_op *o = ud;
    if (error || reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        /* the close is stored; a snapshot that failed is logged loudly (docs/monitoring.md: reopen and close) */
        log_error(service_call_request_id(o->call), "снимок кампании %s не записан: %s", o->campaign->id,
                  error                                       ? error
                  : reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                              : "неожиданный ответ");
        service_call_fail(o->call, MON_CODE(UNAVAILABLE),
                          "Кампания закрыта, но снимок значений не записан: откройте её повторно и закройте снова");
        protobuf_c_message_free_unpacked(&o->campaign->base, NULL);
        free(o);
        return;
    }
    s_ask_indicators(o);
}

void monitoring_campaign_stored(void *ud, service_call *call, const ProtobufCMessage *current,
                                const ProtobufCMessage *next)
{
    monitoring_service *svc = ud;
    const Metodnet__MonitoringCampaign *cur = (const Metodnet__MonitoringCampaign *)current,
                                       *nxt = (const Metodnet__MonitoringCampaign *)next;
    if (cur == NULL || nxt == NULL ||
        cur->status != METODNET__MONITORING_CAMPAIGN_STATUS__MONITORING_CAMPAIGN_STATUS_OPEN ||
        nxt->status != METODNET__MONITORING_CAMPAIGN_STATUS__MONITORING_CAMPAIGN_STATUS_CLOSED) {
        service_call_reply(call, next);
        return;
    }
    close_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    size_t len = protobuf_c_message_get_packed_size(next);
    uint8_t *buf = xmalloc(len ? len : 1);
    protobuf_c_message_pack(next, buf);
    o->campaign = metodnet__monitoring_campaign__unpack(NULL, len, buf);
    free(buf);
    if (o->campaign == NULL) {
        free(o);
        service_call_reply(call, next);
        return;
    }
    const Metodnet__MonitoringCampaign *c = o->campaign;
    o->version = c->snapshot_version;
    char id[120], rs[MON_KEY_MAX], req[MON_KEY_MAX], prefix[MON_KEY_MAX], now[40], required[16];
    snprintf(id, sizeof id, "%s:%lld", c->id, (long long)c->snapshot_version);
    mon_key(o->snap_key, sizeof o->snap_key, c->region_id, "snap", id);
    mon_key(rs, sizeof rs, c->region_id, "rs", c->id);
    mon_key(req, sizeof req, c->region_id, "req", c->id);
    snprintf(id, sizeof id, "%s:", c->id);
    mon_key(prefix, sizeof prefix, c->region_id, "report", id);
    clock_rfc3339(clock_unix_ms(), now, sizeof now);
    snprintf(required, sizeof required, "%d", c->required_count);
    const char *argv[7] = {rs, o->snap_key, req, prefix, now, c->period, required};
    size_t argvlen[7];
    for (int i = 0; i < 7; i++)
        argvlen[i] = strlen(argv[i]);
    if (redis_link_evalsha(svc->link, svc->snapshot_script, 3, 7, argv, argvlen, s_snapshot_written, o) != 0)
        s_snapshot_written(NULL, "Redis недоступен", o);
}

/* ---------- snapshots ---------- */

typedef struct {
    monitoring_service *svc;
    service_call *call;
    int64_t version; /* 0: every version's summary */
    int64_t next, last;
    Metodnet__MonitoringCampaign *campaign;
    Metodnet__ListCampaignSnapshotsResponse list;
} snap_op;

static void s_snap_free(snap_op *o)
{
    for (size_t i = 0; i < o->list.n_items; i++)
        protobuf_c_message_free_unpacked(&o->list.items[i]->base, NULL);
    free(o->list.items);
    if (o->campaign)
        protobuf_c_message_free_unpacked(&o->campaign->base, NULL);
    free(o);
}

static const char *s_hget(const redisReply *r, const char *name)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, name) == 0 &&
            r->element[i + 1]->type == REDIS_REPLY_STRING)
            return r->element[i + 1]->str;
    return "";
}

/* The snapshot of version from its hash; with reports, every organization's values. */
static Metodnet__CampaignSnapshot *s_snapshot_of(const redisReply *r, const Metodnet__MonitoringCampaign *c,
                                                 int64_t version, bool reports)
{
    Metodnet__CampaignSnapshot *s = xmalloc(sizeof *s);
    metodnet__campaign_snapshot__init(s);
    s->campaign_id = xstrdup(c->id);
    s->version = version;
    s->created_at = xstrdup(s_hget(r, "@at"));
    s->period = xstrdup(s_hget(r, "@period"));
    s->required = atoi(s_hget(r, "@required"));
    s->approved = atoi(s_hget(r, "@approved"));
    s->indicator_snapshot = xstrdup(s_hget(r, "@ind"));
    if (!reports)
        return s;
    s->reports = xcalloc(r->elements / 2 + 1, sizeof *s->reports);
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || k->str[0] == '@')
            continue;
        const char *nl = memchr(v->str, '\n', v->len);
        if (nl == NULL)
            continue;
        Metodnet__SnapshotReport *sr = xmalloc(sizeof *sr);
        metodnet__snapshot_report__init(sr);
        sr->organization_id = xstrdup(k->str);
        sr->municipality_id = xstrndup(v->str, (size_t)(nl - v->str));
        size_t off = (size_t)(nl - v->str) + 1;
        Metodnet__MonitoringReport *rep =
            metodnet__monitoring_report__unpack(NULL, v->len - off, (const uint8_t *)v->str + off);
        if (rep) {
            sr->values = rep->values;
            sr->n_values = rep->n_values;
            rep->values = NULL;
            rep->n_values = 0;
            protobuf_c_message_free_unpacked(&rep->base, NULL);
        }
        s->reports[s->n_reports++] = sr;
    }
    return s;
}

static void s_snap_next(snap_op *o);

/* A snapshot whose indicator part is pending: whoever takes its member off the pending set (SREM
 * answered 1) asks the indicators service again, so two readers never ask twice; a failure puts it back. */
typedef struct {
    close_op *close;
    snap_op *snap;
} retry_op;

static void s_retry_claimed(const redisReply *reply, const char *error, void *ud)
{
    retry_op *r = ud;
    close_op *c = r->close;
    s_snap_free(r->snap); /* its campaign moved into c */
    free(r);
    if (error == NULL && reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        s_ask_indicators(c);
        return;
    }
    snprintf(c->mark, sizeof c->mark, "pending");
    s_close_done(c);
}

static void s_retry_indicators(snap_op *o, Metodnet__CampaignSnapshot *s)
{
    close_op *c = xcalloc(1, sizeof *c);
    c->svc = o->svc;
    c->call = o->call;
    c->campaign = o->campaign;
    o->campaign = NULL;
    c->version = o->version;
    c->answer = s;
    snprintf(c->mark, sizeof c->mark, "pending");
    char id[120], pending[MON_KEY_MAX], member[160];
    snprintf(id, sizeof id, "%s:%lld", c->campaign->id, (long long)c->version);
    mon_key(c->snap_key, sizeof c->snap_key, c->campaign->region_id, "snap", id);
    mon_key(pending, sizeof pending, c->campaign->region_id, "ind", "pending");
    snprintf(member, sizeof member, "%s:%lld", c->campaign->id, (long long)c->version);
    retry_op *r = xcalloc(1, sizeof *r);
    r->close = c;
    r->snap = o;
    if (redis_link_commandf(o->svc->link, s_retry_claimed, r, "SREM %s %s", pending, member) != 0)
        s_retry_claimed(NULL, "Redis недоступен", r);
}

static void s_snap_read(const redisReply *reply, const char *error, void *ud)
{
    snap_op *o = ud;
    if (error || reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        service_call_fail(o->call, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
        s_snap_free(o);
        return;
    }
    if (o->version > 0) {
        if (reply->elements == 0) {
            service_call_fail(o->call, MON_CODE(NOT_FOUND), "Снимка с такой версией у кампании нет");
            s_snap_free(o);
            return;
        }
        Metodnet__CampaignSnapshot *s = s_snapshot_of(reply, o->campaign, o->version, true);
        if (strcmp(s->indicator_snapshot, "pending") == 0) {
            s_retry_indicators(o, s);
            return;
        }
        service_call_reply(o->call, &s->base);
        protobuf_c_message_free_unpacked(&s->base, NULL);
        s_snap_free(o);
        return;
    }
    if (reply->elements > 0)
        o->list.items[o->list.n_items++] = s_snapshot_of(reply, o->campaign, o->next, false);
    o->next++;
    s_snap_next(o);
}

static void s_snap_next(snap_op *o)
{
    if (o->version == 0 && o->next > o->last) {
        service_call_reply(o->call, &o->list.base);
        s_snap_free(o);
        return;
    }
    char id[120], key[MON_KEY_MAX];
    snprintf(id, sizeof id, "%s:%lld", o->campaign->id, (long long)(o->version ? o->version : o->next));
    mon_key(key, sizeof key, o->campaign->region_id, "snap", id);
    if (redis_link_commandf(o->svc->link, s_snap_read, o, "HGETALL %s", key) != 0) {
        service_call_fail(o->call, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
        s_snap_free(o);
    }
}

static void s_snap_campaign(const Metodnet__MonitoringCampaign *c, Metodnet__StatusCode code, const char *message_ru,
                            void *ud)
{
    snap_op *o = ud;
    const Metodnet__Principal *caller = service_call_caller(o->call);
    if (c == NULL || !entity_kind_allows(&monitoring_campaign_kind, caller, &c->base, SCOPE_READ) ||
        (caller && (caller->role == METODNET__ROLE__ROLE_TEACHER || caller->role == METODNET__ROLE__ROLE_SCHOOL_ADMIN ||
                    caller->role == METODNET__ROLE__ROLE_SCHOOL_SYSTEM))) {
        service_call_fail(o->call, c ? MON_CODE(NOT_FOUND) : code,
                          c ? monitoring_campaign_kind.not_found_ru : message_ru);
        free(o);
        return;
    }
    size_t len = protobuf_c_message_get_packed_size(&c->base);
    uint8_t *buf = xmalloc(len ? len : 1);
    protobuf_c_message_pack(&c->base, buf);
    o->campaign = metodnet__monitoring_campaign__unpack(NULL, len, buf);
    free(buf);
    if (o->campaign == NULL) {
        service_call_fail(o->call, MON_CODE(INTERNAL), monitoring_unavailable_ru);
        free(o);
        return;
    }
    o->next = 1;
    o->last = c->snapshot_version;
    if (o->version > c->snapshot_version || o->version < 0) {
        service_call_fail(o->call, MON_CODE(NOT_FOUND), "Снимка с такой версией у кампании нет");
        s_snap_free(o);
        return;
    }
    if (o->version == 0 && o->last > 0)
        o->list.items = xcalloc((size_t)(o->last < 1000 ? o->last : 1000), sizeof *o->list.items);
    if (o->last > 1000)
        o->last = 1000;
    s_snap_next(o);
}

static void s_snapshots(monitoring_service *svc, service_call *call, const char *id, int64_t version)
{
    snap_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    o->version = version;
    metodnet__list_campaign_snapshots_response__init(&o->list);
    monitoring_campaign(svc, mon_set(id) ? id : "", false, s_snap_campaign, o);
}

/* ---------- the method table ---------- */

static void s_create(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_create(&SVC(ud)->engine, c, r, &monitoring_campaign_kind);
}
static void s_get(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_get(&SVC(ud)->engine, c, r, &monitoring_campaign_kind, "id");
}
static void s_update(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_update(&SVC(ud)->engine, c, r, &monitoring_campaign_kind, "id");
}
static void s_list(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_list(&SVC(ud)->engine, c, r, &monitoring_campaign_kind, NULL);
}
static void s_open(service_call *c, const ProtobufCMessage *r, void *ud)
{
    s_action(c, r, ud, "open");
}
static void s_close(service_call *c, const ProtobufCMessage *r, void *ud)
{
    s_action(c, r, ud, "close");
}
static void s_reopen(service_call *c, const ProtobufCMessage *r, void *ud)
{
    s_action(c, r, ud, "reopen");
}
static void s_templates(service_call *c, const ProtobufCMessage *r, void *ud)
{
    (void)ud;
    const Metodnet__ListFormTemplatesRequest *req = (const Metodnet__ListFormTemplatesRequest *)r;
    Metodnet__ListFormTemplatesResponse out = METODNET__LIST_FORM_TEMPLATES_RESPONSE__INIT;
    monitoring_templates(&out);
    if (mon_set(req->code)) {
        size_t kept = 0;
        for (size_t i = 0; i < out.n_items; i++) {
            if (mon_eq(out.items[i]->code, req->code)) {
                Metodnet__FormTemplate *t = out.items[i];
                out.items[i] = out.items[kept];
                out.items[kept++] = t;
            }
        }
        Metodnet__ListFormTemplatesResponse shown = out;
        shown.n_items = kept;
        service_call_reply(c, &shown.base);
    } else {
        service_call_reply(c, &out.base);
    }
    monitoring_templates_free(&out);
}
static void s_get_report(service_call *c, const ProtobufCMessage *r, void *ud)
{
    monitoring_get_report(SVC(ud), c, r);
}
static void s_save_report(service_call *c, const ProtobufCMessage *r, void *ud)
{
    monitoring_save_report(SVC(ud), c, r, false);
}
static void s_submit_report(service_call *c, const ProtobufCMessage *r, void *ud)
{
    monitoring_save_report(SVC(ud), c, r, true);
}
static void s_approve_report(service_call *c, const ProtobufCMessage *r, void *ud)
{
    monitoring_review_report(SVC(ud), c, r, true);
}
static void s_return_report(service_call *c, const ProtobufCMessage *r, void *ud)
{
    monitoring_review_report(SVC(ud), c, r, false);
}
static void s_list_reports(service_call *c, const ProtobufCMessage *r, void *ud)
{
    monitoring_list_reports(SVC(ud), c, r);
}
static void s_progress(service_call *c, const ProtobufCMessage *r, void *ud)
{
    monitoring_progress(SVC(ud), c, r);
}
static void s_list_snapshots(service_call *c, const ProtobufCMessage *r, void *ud)
{
    s_snapshots(SVC(ud), c, ((const Metodnet__ListCampaignSnapshotsRequest *)r)->id, 0);
}
static void s_get_snapshot(service_call *c, const ProtobufCMessage *r, void *ud)
{
    const Metodnet__GetCampaignSnapshotRequest *req = (const Metodnet__GetCampaignSnapshotRequest *)r;
    if (req->version <= 0) {
        service_call_fail(c, MON_CODE(NOT_FOUND), "Снимка с такой версией у кампании нет");
        return;
    }
    s_snapshots(SVC(ud), c, req->id, req->version);
}

static void s_figures(service_call *c, const ProtobufCMessage *r, void *ud)
{
    monitoring_figures(SVC(ud), c, r);
}

static const service_handler_entry s_handlers[] = {
    {"CreateCampaign", s_create},      {"GetCampaign", s_get},
    {"UpdateCampaign", s_update},      {"ListCampaigns", s_list},
    {"OpenCampaign", s_open},          {"CloseCampaign", s_close},
    {"ReopenCampaign", s_reopen},      {"ListFormTemplates", s_templates},
    {"GetReport", s_get_report},       {"SaveReport", s_save_report},
    {"SubmitReport", s_submit_report}, {"ApproveReport", s_approve_report},
    {"ReturnReport", s_return_report}, {"ListReports", s_list_reports},
    {"GetProgress", s_progress},       {"ListSnapshots", s_list_snapshots},
    {"GetSnapshot", s_get_snapshot},   {"CampaignFigures", s_figures},
};

static const service_methods s_service_methods = {&metodnet__monitoring__descriptor, s_handlers,
                                                  sizeof s_handlers / sizeof s_handlers[0]};

const service_methods *monitoring_methods(void)
{
    return &s_service_methods;
}

/* ---------- lifecycle ---------- */

static void s_free_parts(monitoring_service *svc)
{
    for (size_t i = 0; i < MON_FORM_CACHE; i++)
        if (svc->forms[i].campaign)
            protobuf_c_message_free_unpacked(&svc->forms[i].campaign->base, NULL);
    service_client_destroy(&svc->broker);
    entity_store_destroy(&svc->store);
    audit_destroy(&svc->audit);
    free(svc);
}

monitoring_service *monitoring_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    monitoring_service *svc = calloc(1, sizeof *svc);
    if (svc == NULL)
        return NULL;
    svc->link = link;
    svc->store = entity_store_new(link);
    svc->audit = audit_new(link, "monitoring");
    svc->broker = service_client_new(loop, zmq_context, cfg->broker_endpoint, cfg->broker_curve);
    svc->engine = (entity_engine){.store = svc->store, .audit = svc->audit, .claims = NULL, .ud = svc};
    if (svc->store == NULL || svc->audit == NULL || svc->broker == NULL || monitoring_scripts_load(svc) != 0) {
        s_free_parts(svc);
        return NULL;
    }
    svc->worker = service_worker_new(loop, zmq_context, cfg->broker_endpoint, cfg->broker_curve, "monitoring",
                                     cfg->concurrency, cfg->heartbeat, monitoring_methods(), svc);
    if (svc->worker == NULL) {
        s_free_parts(svc);
        return NULL;
    }
    return svc;
}

static void s_release(void *service)
{
    s_free_parts(service);
}

void monitoring_shutdown(monitoring_service *svc, void (*done)(void *ud), void *ud)
{
    service_worker_stop_service(svc->worker, 3000, s_release, svc, done, ud);
}
