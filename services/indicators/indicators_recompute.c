/* indicators_recompute — the full recompute: every record the indicators read, listed from its own
 * service through the broker (the registry's municipalities, organizations, staff, programmes,
 * qualification records, associations and their memberships; the diagnostics' campaigns, results and
 * each listed staff member's route (GetRoute); the events' events and each event's registrations; the
 * mentoring service's support programmes, mentor profiles and pairs — never their keys), turned into the same facts as the stream entries (indicators_facts.c) and applied
 * by the same apply.lua into a shadow state "ind:{r:R}:chk:". Then the values of the region, by
 * municipality, by organization and by subject for the current calendar year are counted in both
 * states and every differing numerator or denominator is reported (metodctl indicators recompute
 * --check exits non-zero on any). The shadow state is dropped afterwards (drop.lua).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diagnostics_service.pb-c.h"
#include "events_service.pb-c.h"
#include "indicators_internal.h"
#include "log.h"
#include "mentoring_service.pb-c.h"
#include "pbfield.h"
#include "registry_service.pb-c.h"
#include "scope.h"
#include "xalloc.h"

#define RC_PAGE             500
#define RC_MAX_PARENTS      200000
#define RC_ROUTES_IN_FLIGHT 16

/* how a source is asked: a list of the region, a list per record of an earlier source (an association's
 * memberships, an event's registrations), or a Get per staff member (a person's route) */
typedef enum { RC_REGION, RC_PER_ASSOC, RC_PER_EVENT, RC_PER_STAFF } rc_how;

typedef struct {
    const char *service, *method, *type;
    const ProtobufCMessageDescriptor *request, *response;
    rc_how how;
} rc_source;

static const rc_source s_sources[] = {
    {"registry", "ListMunicipalities", "mun.updated", &metodnet__list_municipalities_request__descriptor,
     &metodnet__list_municipalities_response__descriptor, RC_REGION},
    {"registry", "ListOrganizations", "org.updated", &metodnet__list_organizations_request__descriptor,
     &metodnet__list_organizations_response__descriptor, RC_REGION},
    {"registry", "ListStaff", "staff.updated", &metodnet__list_staff_request__descriptor,
     &metodnet__list_staff_response__descriptor, RC_REGION},
    {"registry", "ListProgrammes", "programme.updated", &metodnet__list_programmes_request__descriptor,
     &metodnet__list_programmes_response__descriptor, RC_REGION},
    {"registry", "ListQualificationRecords", "qual.updated", &metodnet__list_qualification_records_request__descriptor,
     &metodnet__list_qualification_records_response__descriptor, RC_REGION},
    {"registry", "ListAssociations", "assoc.updated", &metodnet__list_associations_request__descriptor,
     &metodnet__list_associations_response__descriptor, RC_REGION},
    {"registry", "ListMemberships", "member.updated", &metodnet__list_memberships_request__descriptor,
     &metodnet__list_memberships_response__descriptor, RC_PER_ASSOC},
    {"diagnostics", "ListCampaigns", "campaign.updated", &metodnet__list_campaigns_request__descriptor,
     &metodnet__list_campaigns_response__descriptor, RC_REGION},
    {"diagnostics", "ListResults", "result.completed", &metodnet__list_results_request__descriptor,
     &metodnet__list_results_response__descriptor, RC_REGION},
    {"diagnostics", "GetRoute", "route.updated", &metodnet__get_route_request__descriptor, &metodnet__route__descriptor,
     RC_PER_STAFF},
    {"events", "ListEvents", "event.updated", &metodnet__list_events_request__descriptor,
     &metodnet__list_events_response__descriptor, RC_REGION},
    {"events", "ListEventRegistrations", "registration.updated", &metodnet__list_registrations_request__descriptor,
     &metodnet__list_registrations_response__descriptor, RC_PER_EVENT},
    {"mentoring", "ListSupportProgrammes", "sprog.updated", &metodnet__list_support_programmes_request__descriptor,
     &metodnet__list_support_programmes_response__descriptor, RC_REGION},
    {"mentoring", "ListMentors", "mentor.updated", &metodnet__list_mentors_request__descriptor,
     &metodnet__list_mentors_response__descriptor, RC_REGION},
    {"mentoring", "ListPairs", "pair.updated", &metodnet__list_pairs_request__descriptor,
     &metodnet__list_pairs_response__descriptor, RC_REGION},
};
#define RC_SOURCES (sizeof s_sources / sizeof s_sources[0])

typedef struct {
    char **ids;
    size_t n;
} rc_ids;

typedef struct {
    indicators_service *svc;
    service_call *call;
    bool check;
    char region[16], prefix[48], applied[64], nostream[64];
    size_t source;
    char *cursor;
    rc_ids parents[3]; /* the ids of associations, events and staff members listed (RC_PER_*) */
    size_t parent_i;
    size_t routes_sent, routes_done;
    long long entry;
    int in_flight;
    bool listed_page_done;
    bool failed;
    char fail_ru[256];
    int64_t people, orgs, applied_n;
    /* comparison */
    const char *bys[3];
    size_t by_i;
    char **periods; /* "start..end" of every period the live state keeps counters for, the current year first */
    size_t n_periods, period_i;
    char period_key[64]; /* the counters' key of the period compared ("start..end@age") */
    Metodnet__GetIndicatorValuesResponse *live;
    Metodnet__RecomputeResponse resp;
    Metodnet__RecomputeDifference **diffs;
    size_t n_diffs, cap_diffs;
} rc_op;

static void s_next_page(rc_op *o);
static void s_compare_next(rc_op *o);
static void s_compare_start(rc_op *o);
static void s_drop(rc_op *o);

static void s_op_free(rc_op *o)
{
    free(o->cursor);
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < o->parents[k].n; i++)
            free(o->parents[k].ids[i]);
        free(o->parents[k].ids);
    }
    for (size_t i = 0; i < o->n_diffs; i++) {
        free(o->diffs[i]->key);
        free(o->diffs[i]);
    }
    free(o->diffs);
    for (size_t i = 0; i < o->n_periods; i++)
        free(o->periods[i]);
    free(o->periods);
    ind_values_free(o->live);
    free(o);
}

static void s_finish(rc_op *o)
{
    if (o->failed) {
        service_call_fail(o->call, IND_CODE(UNAVAILABLE), o->fail_ru);
        s_op_free(o);
        return;
    }
    metodnet__recompute_response__init(&o->resp);
    o->resp.people = o->people;
    o->resp.organizations = o->orgs;
    o->resp.keys = o->applied_n;
    o->resp.differences_total = (int64_t)o->n_diffs;
    o->resp.n_differences = o->n_diffs > 200 ? 200 : o->n_diffs;
    o->resp.differences = o->diffs;
    service_call_reply(o->call, &o->resp.base);
    s_op_free(o);
}

static void s_fail(rc_op *o, const char *what)
{
    if (!o->failed) {
        o->failed = true;
        snprintf(o->fail_ru, sizeof o->fail_ru, "Пересчёт показателей не удался: %s", what);
    }
}

/* ---------- listing and applying ---------- */

static void s_applied(const redisReply *reply, const char *error, void *ud)
{
    rc_op *o = ud;
    if (error || !reply || reply->type == REDIS_REPLY_ERROR)
        s_fail(o, "запись в Redis не выполнена");
    if (--o->in_flight == 0 && o->listed_page_done)
        s_next_page(o);
}

static void s_keep(rc_ids *ids, const char *id)
{
    if (ids->n >= RC_MAX_PARENTS)
        return;
    ids->ids = xrealloc(ids->ids, (ids->n + 1) * sizeof *ids->ids);
    ids->ids[ids->n++] = xstrdup(id);
}

/* the list of ids a per-record source walks */
static rc_ids *s_parents(rc_op *o, rc_how how)
{
    return how == RC_PER_ASSOC ? &o->parents[0] : how == RC_PER_EVENT ? &o->parents[1] : &o->parents[2];
}

/* one listed (or got) record of the current source into the shadow state */
static void s_apply_item(rc_op *o, const rc_source *src, const ProtobufCMessage *item)
{
    const char *id = pbfield_string(item, "id");
    if (!id || !id[0])
        return;
    if (strcmp(src->method, "ListAssociations") == 0)
        s_keep(&o->parents[0], id);
    if (strcmp(src->method, "ListEvents") == 0)
        s_keep(&o->parents[1], id);
    if (strcmp(src->method, "ListStaff") == 0) {
        /* routes count for active teachers only (I13): only theirs are asked */
        const Metodnet__StaffMember *m = (const Metodnet__StaffMember *)item;
        if (m->active && m->category == METODNET__STAFF_CATEGORY__STAFF_CATEGORY_TEACHER)
            s_keep(&o->parents[2], id);
        o->people++;
    }
    if (strcmp(src->method, "ListOrganizations") == 0)
        o->orgs++;
    ind_fact f;
    if (ind_fact_from_entity(src->type, id, item, &f) != 0)
        return;
    char entry[48];
    snprintf(entry, sizeof entry, "1-%lld", ++o->entry);
    o->in_flight++;
    o->applied_n++;
    if (ind_apply(o->svc, o->svc->link, o->nostream, entry, o->prefix, o->applied, &f, s_applied, o) != 0) {
        o->in_flight--;
        s_fail(o, "запись в Redis не отправлена");
    }
    ind_fact_free(&f);
}

static void s_page(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    rc_op *o = ud;
    const rc_source *src = &s_sources[o->source];
    if (status->code != IND_CODE(OK)) {
        char what[160];
        snprintf(what, sizeof what, "%s.%s не ответил", src->service, src->method);
        s_fail(o, what);
        s_drop(o);
        return;
    }
    const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field_by_name(response->descriptor, "items");
    size_t n = fd ? *(const size_t *)((const char *)response + fd->quantifier_offset) : 0;
    ProtobufCMessage **items = fd ? *(ProtobufCMessage ***)((char *)response + fd->offset) : NULL;
    o->in_flight++; /* held while this page's applies are sent */
    o->listed_page_done = false;
    for (size_t i = 0; i < n; i++)
        s_apply_item(o, src, items[i]);
    free(o->cursor);
    const char *next = pbfield_string(response, "next_cursor");
    o->cursor = next && next[0] ? xstrdup(next) : NULL;
    if (!o->cursor) {
        if (src->how != RC_REGION)
            o->parent_i++;
        if (src->how == RC_REGION || o->parent_i >= s_parents(o, src->how)->n) {
            o->source++;
            o->parent_i = 0;
        }
    }
    o->listed_page_done = true;
    if (--o->in_flight == 0)
        s_next_page(o);
}

static void s_send_routes(rc_op *o);

/* the routes are done when every staff member was asked (or the recompute failed) and every answer came */
static void s_routes_check(rc_op *o)
{
    rc_ids *staff = &o->parents[2];
    if ((o->routes_sent >= staff->n || o->failed) && o->routes_done == o->routes_sent) {
        if (o->listed_page_done)
            return;
        o->source++;
        o->parent_i = 0;
        o->listed_page_done = true;
        if (o->in_flight == 0)
            s_next_page(o);
        return;
    }
    s_send_routes(o);
}

/* GetRoute of one staff member: NOT_FOUND is a person without a route */
static void s_route_got(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    rc_op *o = ud;
    const rc_source *src = &s_sources[o->source];
    o->routes_done++;
    o->in_flight--;
    if (status->code == IND_CODE(OK) && response)
        s_apply_item(o, src, response);
    else if (status->code != IND_CODE(NOT_FOUND))
        s_fail(o, "diagnostics.GetRoute не ответил");
    s_routes_check(o);
}

static void s_send_routes(rc_op *o)
{
    rc_ids *staff = &o->parents[2];
    const rc_source *src = &s_sources[o->source];
    while (o->routes_sent < staff->n && o->routes_sent - o->routes_done < RC_ROUTES_IN_FLIGHT && !o->failed) {
        Metodnet__GetRouteRequest req = METODNET__GET_ROUTE_REQUEST__INIT;
        req.id = staff->ids[o->routes_sent++];
        service_client_request r = {.service = src->service,
                                    .method = src->method,
                                    .request = &req.base,
                                    .response = src->response,
                                    .caller = service_client_system_principal(),
                                    .request_id = service_call_request_id(o->call),
                                    .timeout_ms = 30000};
        o->in_flight++;
        if (service_client_call(o->svc->broker, &r, s_route_got, o) != 0) {
            o->in_flight--;
            o->routes_done++;
            s_fail(o, "брокер недоступен");
        }
    }
}

static void s_next_page(rc_op *o)
{
    while (o->source < RC_SOURCES && s_sources[o->source].how != RC_REGION &&
           o->parent_i >= s_parents(o, s_sources[o->source].how)->n)
        o->source++;
    if (o->failed) {
        s_drop(o);
        return;
    }
    if (o->source >= RC_SOURCES) {
        s_compare_start(o);
        return;
    }
    const rc_source *src = &s_sources[o->source];
    if (src->how == RC_PER_STAFF) {
        o->parent_i = o->parents[2].n; /* walked by s_send_routes, not page by page */
        o->routes_sent = o->routes_done = 0;
        o->listed_page_done = false;
        s_routes_check(o);
        return;
    }
    ProtobufCMessage *req = xcalloc(1, src->request->sizeof_message);
    protobuf_c_message_init(src->request, req);
    pbfield_set_int64(req, "limit", RC_PAGE);
    if (o->cursor)
        pbfield_set_string(req, "cursor", o->cursor);
    if (src->how == RC_PER_ASSOC)
        pbfield_set_string(req, "association_id", o->parents[0].ids[o->parent_i]);
    else if (src->how == RC_PER_EVENT)
        pbfield_set_string(req, "event_id", o->parents[1].ids[o->parent_i]);
    else
        pbfield_set_string(req, "region_id", o->region);
    service_client_request r = {.service = src->service,
                                .method = src->method,
                                .request = req,
                                .response = src->response,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(o->call),
                                .timeout_ms = 30000};
    if (service_client_call(o->svc->broker, &r, s_page, o) != 0) {
        s_fail(o, "брокер недоступен");
        protobuf_c_message_free_unpacked(req, NULL);
        s_drop(o);
        return;
    }
    protobuf_c_message_free_unpacked(req, NULL);
}

/* ---------- comparing ---------- */

static void s_diff(rc_op *o, const char *key, int64_t live, int64_t chk)
{
    if (o->n_diffs == o->cap_diffs) {
        o->cap_diffs = o->cap_diffs ? o->cap_diffs * 2 : 16;
        o->diffs = xrealloc(o->diffs, o->cap_diffs * sizeof *o->diffs);
    }
    Metodnet__RecomputeDifference *d = xcalloc(1, sizeof *d);
    metodnet__recompute_difference__init(d);
    d->key = xstrdup(key);
    d->incremental = live;
    d->recomputed = chk;
    o->diffs[o->n_diffs++] = d;
}

static const Metodnet__IndicatorValue *s_find(const Metodnet__GetIndicatorValuesResponse *r,
                                              const Metodnet__IndicatorValue *v)
{
    for (size_t i = 0; i < r->n_breakdown; i++) {
        const Metodnet__IndicatorValue *w = r->breakdown[i];
        if (strcmp(w->scope_id, v->scope_id) == 0 && strcmp(w->indicator, v->indicator) == 0 &&
            strcmp(w->subject, v->subject) == 0)
            return w;
    }
    for (size_t i = 0; i < r->n_items; i++) {
        const Metodnet__IndicatorValue *w = r->items[i];
        if (strcmp(w->scope_id, v->scope_id) == 0 && strcmp(w->indicator, v->indicator) == 0 && !v->subject[0] &&
            strcmp(w->scope_kind, v->scope_kind) == 0)
            return w;
    }
    return NULL;
}

static void s_compare_side(rc_op *o, const Metodnet__GetIndicatorValuesResponse *a,
                           const Metodnet__GetIndicatorValuesResponse *b, bool a_live)
{
    Metodnet__IndicatorValue *const *lists[2] = {a->items, a->breakdown};
    size_t counts[2] = {a->n_items, a->n_breakdown};
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; i < counts[l]; i++) {
            const Metodnet__IndicatorValue *v = lists[l][i];
            const Metodnet__IndicatorValue *w = s_find(b, v);
            int64_t vn = v->numerator, vd = v->denominator, wn = w ? w->numerator : 0, wd = w ? w->denominator : 0;
            if (!a_live && w)
                continue; /* pairs present on both sides were compared from the live side */
            if (vn != wn || vd != wd) {
                char key[240];
                snprintf(key, sizeof key, "%s %s%s%s %s/%s (период %s)", v->indicator, v->scope_id,
                         v->subject[0] ? " " : "", v->subject, "числитель", "знаменатель", a->period);
                char k2[300];
                snprintf(k2, sizeof k2, "%s: %lld/%lld", key, (long long)(a_live ? wn : vn),
                         (long long)(a_live ? wd : vd));
                s_diff(o, k2, a_live ? vn * 1000000 + vd : wn * 1000000 + wd,
                       a_live ? wn * 1000000 + wd : vn * 1000000 + vd);
            }
        }
}

static void s_chk_counted(Metodnet__StatusCode code, const char *message_ru, Metodnet__GetIndicatorValuesResponse *resp,
                          void *ud)
{
    rc_op *o = ud;
    (void)message_ru;
    if (code != IND_CODE(OK)) {
        s_fail(o, "подсчёт не удался");
        s_drop(o);
        return;
    }
    s_compare_side(o, o->live, resp, true);
    s_compare_side(o, resp, o->live, false);
    ind_values_free(resp);
    ind_values_free(o->live);
    o->live = NULL;
    o->by_i++;
    s_compare_next(o);
}

static void s_live_counted(Metodnet__StatusCode code, const char *message_ru,
                           Metodnet__GetIndicatorValuesResponse *resp, void *ud)
{
    rc_op *o = ud;
    (void)message_ru;
    if (code != IND_CODE(OK)) {
        s_fail(o, "подсчёт не удался");
        s_drop(o);
        return;
    }
    o->live = resp;
    const char *young = getenv("METODNET_INDICATORS_YOUNG_AGE");
    snprintf(o->period_key, sizeof o->period_key, "%s..%s@%s", resp->period_start, resp->period_end,
             young && atoi(young) > 0 ? young : "35");
    char region_key[64];
    snprintf(region_key, sizeof region_key, "%s", o->region);
    ind_values_compute(o->svc, o->prefix, o->region, "region", region_key, o->periods[o->period_i], "", o->bys[o->by_i],
                       s_chk_counted, o);
}

/* every counter of the period, live against the shadow (compare.lua) */
static void s_counters_compared(const redisReply *reply, const char *error, void *ud)
{
    rc_op *o = ud;
    if (error || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER) {
        s_fail(o, "сверка счётчиков не удалась");
        s_drop(o);
        return;
    }
    for (size_t i = 1; i + 3 < reply->elements; i += 4) {
        const redisReply *const *e = (const redisReply *const *)reply->element + i;
        if (e[0]->type != REDIS_REPLY_STRING || e[1]->type != REDIS_REPLY_STRING || e[2]->type != REDIS_REPLY_STRING ||
            e[3]->type != REDIS_REPLY_STRING)
            continue;
        char key[256];
        snprintf(key, sizeof key, "счётчик %s %s %s: %s/%s", o->period_key, e[0]->str, e[1]->str, e[2]->str, e[3]->str);
        s_diff(o, key, atoll(e[2]->str), atoll(e[3]->str));
    }
    o->period_i++;
    o->by_i = 0;
    s_compare_next(o);
}

static void s_compare_next(rc_op *o)
{
    if (o->period_i >= o->n_periods) {
        s_drop(o);
        return;
    }
    if (o->by_i >= 3) {
        char live[48], ck[128];
        snprintf(live, sizeof live, "ind:{r:%s}:", o->region);
        snprintf(ck, sizeof ck, "%sck:%s", live, o->period_key);
        const char *argv[] = {ck, live, o->prefix, o->period_key};
        if (redis_link_evalsha(o->svc->link, o->svc->compare_script, 1, 4, argv, NULL, s_counters_compared, o) != 0) {
            s_fail(o, "сверка счётчиков не отправлена");
            s_drop(o);
        }
        return;
    }
    char live_prefix[48];
    snprintf(live_prefix, sizeof live_prefix, "ind:{r:%s}:", o->region);
    ind_values_compute(o->svc, live_prefix, o->region, "region", o->region, o->periods[o->period_i], "",
                       o->bys[o->by_i], s_live_counted, o);
}

/* the periods to compare: the current year and every period the live state keeps counters for */
static void s_periods_listed(const redisReply *reply, const char *error, void *ud)
{
    rc_op *o = ud;
    o->periods =
        xcalloc(1 + (reply && !error && reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0), sizeof *o->periods);
    o->periods[o->n_periods++] = xstrdup("");
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char year[64];
    snprintf(year, sizeof year, "%04d-01-01..%04d-12-31", tm.tm_year + 1900, tm.tm_year + 1900);
    if (reply && !error && reply->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < reply->elements; i++) {
            const redisReply *e = reply->element[i];
            if (e->type != REDIS_REPLY_STRING || !strchr(e->str, '@'))
                continue;
            char range[64];
            snprintf(range, sizeof range, "%.*s", (int)(strchr(e->str, '@') - e->str), e->str);
            if (strcmp(range, year) != 0)
                o->periods[o->n_periods++] = xstrdup(range);
        }
    o->period_i = 0;
    o->by_i = 0;
    s_compare_next(o);
}

static void s_compare_start(rc_op *o)
{
    if (redis_link_commandf(o->svc->link, s_periods_listed, o, "ZRANGE ind:{r:%s}:periods 0 -1", o->region) != 0)
        s_periods_listed(NULL, "closed", o);
}

/* ---------- dropping the shadow state ---------- */

static void s_dropped(const redisReply *reply, const char *error, void *ud)
{
    rc_op *o = ud;
    if (!error && reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) {
        s_drop(o);
        return;
    }
    s_finish(o);
}

static void s_drop(rc_op *o)
{
    char key[64];
    snprintf(key, sizeof key, "%skeys", o->prefix);
    const char *argv[] = {key};
    if (redis_link_evalsha(o->svc->link, o->svc->drop_script, 1, 1, argv, NULL, s_dropped, o) != 0)
        s_finish(o);
}

static void s_start(const redisReply *reply, const char *error, void *ud)
{
    rc_op *o = ud;
    (void)reply;
    (void)error;
    if (o->failed) {
        s_finish(o);
        return;
    }
    o->failed = false;
    s_next_page(o);
}

/* a leftover shadow state (a recompute that died half-way) is dropped first */
static void s_predrop(const redisReply *reply, const char *error, void *ud)
{
    rc_op *o = ud;
    if (!error && reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) {
        char key[64];
        snprintf(key, sizeof key, "%skeys", o->prefix);
        const char *argv[] = {key};
        if (redis_link_evalsha(o->svc->link, o->svc->drop_script, 1, 1, argv, NULL, s_predrop, o) == 0)
            return;
    }
    s_start(NULL, NULL, o);
}

void ind_recompute(indicators_service *svc, service_call *call, const Metodnet__RecomputeRequest *req)
{
    const Metodnet__Principal *p = service_call_caller(call);
    const char *region = req->region_id && req->region_id[0] ? req->region_id : p->region_id;
    bool allowed = scope_is_global(p) || (p->role == METODNET__ROLE__ROLE_REGION_ADMIN &&
                                          p->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_REGION && region &&
                                          p->scope_id && strcmp(region, p->scope_id) == 0);
    if (!allowed) {
        service_call_fail(call, IND_CODE(PERMISSION_DENIED), "Пересчёт показателей запускает администратор региона");
        return;
    }
    bool ok = region && region[0] && strlen(region) < 16;
    for (const char *c = region; ok && *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z')))
            ok = false;
    if (!ok) {
        service_call_fail(call, IND_CODE(INVALID_ARGUMENT), "Укажите регион (regionId)");
        return;
    }
    rc_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    o->check = req->check;
    snprintf(o->region, sizeof o->region, "%s", region);
    snprintf(o->prefix, sizeof o->prefix, "ind:{r:%s}:chk:", region);
    snprintf(o->applied, sizeof o->applied, "ind:{r:%s}:chk:applied", region);
    snprintf(o->nostream, sizeof o->nostream, "ind:{r:%s}:chk:nostream", region);
    o->bys[0] = "municipality";
    o->bys[1] = "organization";
    o->bys[2] = "subject";
    s_predrop(NULL, NULL, o);
}
