/* monitoring_reports — a school's report in a campaign: get, save a draft (PUT), submit (with or without
 * the values in the same request), approve or return (the municipality's methodologists), the list of a
 * campaign's reports and its progress per municipality. A change is one script of monitoring_scripts.c;
 * a submit without values needs nothing else, a submit or a draft with values validates them against the
 * campaign's form, kept in memory once the campaign is open (its form cannot change then).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "monitoring_internal.h"
#include "xalloc.h"

/* ---------- the campaign, from the form cache ---------- */

typedef struct {
    monitoring_service *svc;
    char id[72];
    bool cache;
    monitoring_campaign_cb cb;
    void *ud;
} campaign_op;

static void s_campaign_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                              void *ud)
{
    campaign_op *o = ud;
    if (result == ENTITY_NOT_FOUND) {
        o->cb(NULL, MON_CODE(NOT_FOUND), monitoring_campaign_kind.not_found_ru, o->ud);
        free(o);
        return;
    }
    Metodnet__MonitoringCampaign *c =
        result == ENTITY_OK ? metodnet__monitoring_campaign__unpack(NULL, len, data) : NULL;
    if (c == NULL) {
        log_error(NULL, "кампания %s не прочитана: %s", o->id, error ? error : "неразборчивая запись");
        o->cb(NULL, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru, o->ud);
        free(o);
        return;
    }
    c->version = version;
    o->cb(c, MON_CODE(OK), NULL, o->ud);
    if (o->cache && c->status != METODNET__MONITORING_CAMPAIGN_STATUS__MONITORING_CAMPAIGN_STATUS_DRAFT) {
        monitoring_form_slot *slot = &o->svc->forms[o->svc->next_form++ % MON_FORM_CACHE];
        if (slot->campaign)
            protobuf_c_message_free_unpacked(&slot->campaign->base, NULL);
        snprintf(slot->id, sizeof slot->id, "%s", o->id);
        slot->campaign = c;
    } else {
        protobuf_c_message_free_unpacked(&c->base, NULL);
    }
    free(o);
}

void monitoring_campaign(monitoring_service *svc, const char *id, bool cached, monitoring_campaign_cb cb, void *ud)
{
    if (cached)
        for (size_t i = 0; i < MON_FORM_CACHE; i++)
            if (svc->forms[i].campaign && strcmp(svc->forms[i].id, id) == 0) {
                cb(svc->forms[i].campaign, MON_CODE(OK), NULL, ud);
                return;
            }
    char key[MON_KEY_MAX];
    if (!entity_kind_key(&monitoring_campaign_kind, id, key, sizeof key)) {
        cb(NULL, MON_CODE(NOT_FOUND), monitoring_campaign_kind.not_found_ru, ud);
        return;
    }
    campaign_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    snprintf(o->id, sizeof o->id, "%s", id);
    o->cache = cached;
    o->cb = cb;
    o->ud = ud;
    if (entity_store_get(svc->store, key, s_campaign_loaded, o) != 0) {
        free(o);
        cb(NULL, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru, ud);
    }
}

/* ---------- a report from its hash ---------- */

static const char *s_pair(const redisReply *r, size_t from, const char *name)
{
    for (size_t i = from; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, name) == 0 &&
            r->element[i + 1]->type == REDIS_REPLY_STRING)
            return r->element[i + 1]->str;
    return NULL;
}

static const redisReply *s_pair_reply(const redisReply *r, size_t from, const char *name)
{
    for (size_t i = from; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, name) == 0)
            return r->element[i + 1];
    return NULL;
}

static void s_set(char **slot, const char *value)
{
    mon_replace(slot, value ? value : "");
}

/* The report named by campaign and organization from HGETALL pairs starting at from (none: not started). */
static Metodnet__MonitoringReport *s_report_of(const redisReply *r, size_t from, const char *campaign,
                                               const char *organization, const char *region)
{
    Metodnet__MonitoringReport *rep = NULL;
    const redisReply *d = r ? s_pair_reply(r, from, "d") : NULL;
    if (d && d->type == REDIS_REPLY_STRING && d->len > 0)
        rep = metodnet__monitoring_report__unpack(NULL, d->len, (const uint8_t *)d->str);
    if (rep == NULL) {
        rep = xmalloc(sizeof *rep);
        metodnet__monitoring_report__init(rep);
    }
    s_set(&rep->campaign_id, campaign);
    s_set(&rep->organization_id, organization);
    s_set(&rep->region_id, region);
    if (r == NULL)
        return rep;
    const char *s = s_pair(r, from, "s"), *v = s_pair(r, from, "v"), *x = s_pair(r, from, "x");
    rep->status = s ? (Metodnet__ReportStatus)atoi(s) : METODNET__REPORT_STATUS__REPORT_STATUS_NOT_STARTED;
    rep->version = v ? atoll(v) : 0;
    s_set(&rep->municipality_id, s_pair(r, from, "m"));
    s_set(&rep->updated_at, s_pair(r, from, "u"));
    s_set(&rep->submitted_at, s_pair(r, from, "t"));
    s_set(&rep->submitted_by, s_pair(r, from, "b"));
    s_set(&rep->reviewed_at, s_pair(r, from, "ra"));
    s_set(&rep->reviewed_by, s_pair(r, from, "rb"));
    s_set(&rep->comment, s_pair(r, from, "k"));
    const char *l = s_pair(r, from, "l");
    rep->late = l && strcmp(l, "1") == 0;
    for (size_t i = 0; i < rep->n_missing; i++)
        free(rep->missing[i]);
    free(rep->missing);
    rep->missing = NULL;
    rep->n_missing = 0;
    for (const char *p = x; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        rep->missing = xrealloc(rep->missing, sizeof *rep->missing * (rep->n_missing + 1));
        rep->missing[rep->n_missing++] = xstrndup(p, n);
        p = comma ? comma + 1 : NULL;
    }
    return rep;
}

static void s_reply_report(service_call *call, Metodnet__MonitoringReport *rep)
{
    service_call_reply(call, &rep->base);
    protobuf_c_message_free_unpacked(&rep->base, NULL);
}

/* ---------- get ---------- */

typedef struct {
    monitoring_service *svc;
    service_call *call;
    char campaign[72], organization[72], region[8], municipality[72];
} report_op;

static report_op *s_report_op(monitoring_service *svc, service_call *call, const char *campaign,
                              const char *organization)
{
    char region[8], org_region[8];
    if (!mon_set(campaign) || !mon_set(organization) || !id_valid(campaign) || !id_valid(organization) ||
        !entity_region_of(campaign, region, sizeof region) ||
        !entity_region_of(organization, org_region, sizeof org_region) || strcmp(region, org_region) != 0) {
        service_call_fail(call, MON_CODE(NOT_FOUND), "Отчёт не найден: нет такой кампании или организации");
        return NULL;
    }
    report_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    snprintf(o->campaign, sizeof o->campaign, "%s", campaign);
    snprintf(o->organization, sizeof o->organization, "%s", organization);
    snprintf(o->region, sizeof o->region, "%s", region);
    return o;
}

static void s_report_key(const report_op *o, char *out, size_t size)
{
    char id[160];
    snprintf(id, sizeof id, "%s:%s", o->campaign, o->organization);
    mon_key(out, size, o->region, "report", id);
}

static void s_fail(report_op *o, Metodnet__StatusCode code, const char *message_ru)
{
    service_call_fail(o->call, code, message_ru);
    free(o);
}

static void s_got_report(const redisReply *reply, const char *error, void *ud)
{
    report_op *o = ud;
    if (error || reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        s_fail(o, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
        return;
    }
    Metodnet__MonitoringReport *rep = s_report_of(reply, 0, o->campaign, o->organization, o->region);
    s_set(&rep->municipality_id, o->municipality);
    s_reply_report(o->call, rep);
    free(o);
}

static void s_got_scope(const redisReply *reply, const char *error, void *ud)
{
    report_op *o = ud;
    if (error || reply == NULL || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL)) {
        s_fail(o, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
        return;
    }
    const Metodnet__Principal *caller = service_call_caller(o->call);
    /* the school's own key reads its report too (read-only) */
    bool own_key = caller && caller->role == METODNET__ROLE__ROLE_SCHOOL_SYSTEM &&
                   caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION &&
                   mon_eq(caller->region_id, o->region) && mon_eq(caller->scope_id, o->organization);
    if (reply->type == REDIS_REPLY_NIL || (!own_key && !monitoring_reports_for(caller, o->region, o->organization) &&
                                           !monitoring_reviews(caller, o->region, reply->str))) {
        s_fail(o, MON_CODE(NOT_FOUND), "Отчёт не найден: организация не входит в охват кампании или недоступна вам");
        return;
    }
    snprintf(o->municipality, sizeof o->municipality, "%s", reply->str);
    char key[MON_KEY_MAX];
    s_report_key(o, key, sizeof key);
    if (redis_link_commandf(o->svc->link, s_got_report, o, "HGETALL %s", key) != 0)
        s_fail(o, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
}

void monitoring_get_report(monitoring_service *svc, service_call *call, const ProtobufCMessage *request)
{
    const Metodnet__MonitoringReportRequest *r = (const Metodnet__MonitoringReportRequest *)request;
    report_op *o = s_report_op(svc, call, r->campaign_id, r->organization_id);
    if (o == NULL)
        return;
    char key[MON_KEY_MAX];
    mon_key(key, sizeof key, o->region, "req", o->campaign);
    if (redis_link_commandf(svc->link, s_got_scope, o, "HGET %s %s", key, o->organization) != 0)
        s_fail(o, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
}

/* ---------- save a draft, submit ---------- */

typedef struct {
    report_op base;
    bool submit;
    Metodnet__FieldValue **values; /* borrowed from the request */
    size_t n_values;
    bool has_values;
} save_op;

static void s_saved(const redisReply *reply, const char *error, void *ud)
{
    save_op *o = ud;
    report_op *b = &o->base;
    if (error || reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER) {
        log_error(service_call_request_id(b->call), "отчёт не сохранён: %s",
                  error                                       ? error
                  : reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                              : "неожиданный ответ");
        s_fail(b, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
        return;
    }
    long long code = reply->element[0]->integer;
    const char *detail =
        reply->elements > 1 && reply->element[1]->type == REDIS_REPLY_STRING ? reply->element[1]->str : "";
    char msg[600];
    switch (code) {
    case 0: {
        Metodnet__MonitoringReport *rep = s_report_of(reply, 1, b->campaign, b->organization, b->region);
        entity_kind_audit(&b->svc->engine, b->call, &monitoring_campaign_kind, o->submit ? "submit" : "save",
                          b->campaign, b->region);
        s_reply_report(b->call, rep);
        free(o);
        return;
    }
    case 1:
        s_fail(b, MON_CODE(NOT_FOUND), monitoring_campaign_kind.not_found_ru);
        return;
    case 2:
        s_fail(b, MON_CODE(CONFLICT), "Кампания не открыта: отчёт принимается только в открытой кампании");
        return;
    case 3:
        s_fail(b, MON_CODE(NOT_FOUND), "Организация не входит в охват кампании");
        return;
    case 4:
        s_fail(b, MON_CODE(CONFLICT),
               "Отчёт уже отправлен и ждёт проверки муниципалитетом; изменить его можно после "
               "возврата на доработку");
        return;
    case 5:
        s_fail(b, MON_CODE(CONFLICT), "Отчёт уже утверждён муниципалитетом");
        return;
    case 6:
        snprintf(msg, sizeof msg,
                 "Срок сдачи отчёта истёк (%s): отправить его можно, только если муниципалитет откроет кампанию "
                 "повторно",
                 detail);
        s_fail(b, MON_CODE(CONFLICT), msg);
        return;
    case 7: {
        validation v;
        validation_init(&v);
        if (detail[0])
            validation_add(&v, "values", "Заполните обязательные поля формы: %s", detail);
        else
            validation_add(&v, "values",
                           "Отчёт ещё не заполнен: сохраните значения формы или отправьте их вместе "
                           "с отчётом (values)");
        service_call_fail_validation(b->call, &v);
        validation_free(&v);
        free(o);
        return;
    }
    default:
        s_fail(b, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
    }
}

static void s_save_run(save_op *o, const Metodnet__MonitoringCampaign *c)
{
    report_op *b = &o->base;
    uint8_t *data = NULL;
    size_t data_len = 0;
    char missing[2048] = "";
    bool complete = false;
    if (o->has_values) {
        validation v;
        validation_init(&v);
        char **miss = NULL;
        size_t n_miss = 0;
        monitoring_check_values(c, o->values, o->n_values, &v, &miss, &n_miss);
        size_t used = 0;
        for (size_t i = 0; i < n_miss; i++) {
            int w = snprintf(missing + used, sizeof missing - used, "%s%s", i ? "," : "", miss[i]);
            if (w > 0 && (size_t)w < sizeof missing - used)
                used += (size_t)w;
            free(miss[i]);
        }
        free(miss);
        complete = n_miss == 0;
        if (!validation_ok(&v)) {
            service_call_fail_validation(b->call, &v);
            validation_free(&v);
            free(o);
            return;
        }
        validation_free(&v);
        Metodnet__MonitoringReport rep = METODNET__MONITORING_REPORT__INIT;
        rep.values = o->values;
        rep.n_values = o->n_values;
        data_len = protobuf_c_message_get_packed_size(&rep.base);
        data = xmalloc(data_len ? data_len : 1);
        protobuf_c_message_pack(&rep.base, data);
    }
    char keys[5][MON_KEY_MAX], now[40], id[160];
    entity_kind_key(&monitoring_campaign_kind, b->campaign, keys[0], sizeof keys[0]);
    mon_key(keys[1], sizeof keys[1], b->region, "req", b->campaign);
    mon_key(keys[2], sizeof keys[2], b->region, "rs", b->campaign);
    s_report_key(b, keys[3], sizeof keys[3]);
    entity_kind_stream_key(&monitoring_campaign_kind, b->region, keys[4], sizeof keys[4]);
    clock_rfc3339(clock_unix_ms(), now, sizeof now);
    snprintf(id, sizeof id, "%s:%s", b->campaign, b->organization);
    size_t event_len = 0;
    const Metodnet__Principal *caller = service_call_caller(b->call);
    uint8_t *event = entity_event_pack(o->submit ? "report.submitted" : "report.saved", id, 0, data, data_len, caller,
                                       service_call_request_id(b->call), &event_len);
    const char *actor = caller && caller->user_id ? caller->user_id : "";
    const char *argv[5 + 9];
    size_t argvlen[5 + 9];
    for (int i = 0; i < 5; i++)
        argv[i] = keys[i], argvlen[i] = strlen(keys[i]);
    const char *mode = o->submit ? "submit" : "draft", *given = o->has_values ? "1" : "0", *full = complete ? "1" : "0";
    argv[5] = mode, argvlen[5] = strlen(mode);
    argv[6] = now, argvlen[6] = strlen(now);
    argv[7] = given, argvlen[7] = 1;
    argv[8] = data ? (const char *)data : "", argvlen[8] = data_len;
    argv[9] = full, argvlen[9] = 1;
    argv[10] = missing, argvlen[10] = strlen(missing);
    argv[11] = actor, argvlen[11] = strlen(actor);
    argv[12] = (const char *)event, argvlen[12] = event_len;
    argv[13] = b->organization, argvlen[13] = strlen(b->organization);
    int rc = redis_link_evalsha(b->svc->link, b->svc->save_script, 5, 14, argv, argvlen, s_saved, o);
    free(data);
    free(event);
    if (rc != 0)
        s_fail(b, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
}

static void s_save_campaign(const Metodnet__MonitoringCampaign *c, Metodnet__StatusCode code, const char *message_ru,
                            void *ud)
{
    save_op *o = ud;
    if (c == NULL) {
        s_fail(&o->base, code, message_ru);
        return;
    }
    s_save_run(o, c);
}

void monitoring_save_report(monitoring_service *svc, service_call *call, const ProtobufCMessage *request, bool submit)
{
    const char *campaign, *organization;
    Metodnet__FieldValue **values = NULL;
    size_t n_values = 0;
    bool has_values;
    if (submit) {
        const Metodnet__SubmitMonitoringReportRequest *r = (const Metodnet__SubmitMonitoringReportRequest *)request;
        campaign = r->campaign_id, organization = r->organization_id;
        values = r->values, n_values = r->n_values;
        has_values = n_values > 0;
    } else {
        const Metodnet__SaveMonitoringReportRequest *r = (const Metodnet__SaveMonitoringReportRequest *)request;
        campaign = r->campaign_id, organization = r->organization_id;
        if (r->report)
            values = r->report->values, n_values = r->report->n_values;
        has_values = true;
    }
    report_op *b = s_report_op(svc, call, campaign, organization);
    if (b == NULL)
        return;
    if (!monitoring_reports_for(service_call_caller(call), b->region, b->organization)) {
        s_fail(b, MON_CODE(PERMISSION_DENIED), "Отчёт заполняет и отправляет администратор этой организации");
        return;
    }
    save_op *o = xcalloc(1, sizeof *o);
    o->base = *b;
    free(b);
    o->submit = submit;
    o->values = values;
    o->n_values = n_values;
    o->has_values = has_values;
    if (!has_values) {
        s_save_run(o, NULL); /* the stored draft is submitted: one script, nothing read before */
        return;
    }
    monitoring_campaign(svc, o->base.campaign, true, s_save_campaign, o);
}

/* ---------- approve, return ---------- */

static void s_reviewed(const redisReply *reply, const char *error, void *ud)
{
    report_op *o = ud;
    if (error || reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER) {
        log_error(service_call_request_id(o->call), "проверка отчёта не сохранена: %s",
                  error                                       ? error
                  : reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                              : "неожиданный ответ");
        s_fail(o, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
        return;
    }
    switch (reply->element[0]->integer) {
    case 0: {
        Metodnet__MonitoringReport *rep = s_report_of(reply, 1, o->campaign, o->organization, o->region);
        entity_kind_audit(&o->svc->engine, o->call, &monitoring_campaign_kind, "review", o->campaign, o->region);
        s_reply_report(o->call, rep);
        free(o);
        return;
    }
    case 1:
        s_fail(o, MON_CODE(NOT_FOUND), monitoring_campaign_kind.not_found_ru);
        return;
    case 2:
        s_fail(o, MON_CODE(CONFLICT), "Кампания не открыта: отчёты проверяют в открытой кампании");
        return;
    case 3:
        s_fail(o, MON_CODE(NOT_FOUND), "Отчёт не найден: организация его ещё не заполняла");
        return;
    case 4:
        s_fail(o, MON_CODE(CONFLICT), "Утвердить или вернуть можно только отправленный отчёт");
        return;
    case 8:
        s_fail(o, MON_CODE(PERMISSION_DENIED),
               "Отчёт этой организации проверяет методическая служба её муниципалитета");
        return;
    default:
        s_fail(o, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
    }
}

void monitoring_review_report(monitoring_service *svc, service_call *call, const ProtobufCMessage *request,
                              bool approve)
{
    const Metodnet__ReviewMonitoringReportRequest *r = (const Metodnet__ReviewMonitoringReportRequest *)request;
    report_op *o = s_report_op(svc, call, r->campaign_id, r->organization_id);
    if (o == NULL)
        return;
    const Metodnet__Principal *caller = service_call_caller(call);
    const char *reviewer = NULL;
    if (monitoring_manages(caller, o->region, NULL))
        reviewer = "*";
    else if (caller && caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY &&
             monitoring_reviews(caller, o->region, caller->scope_id))
        reviewer = caller->scope_id;
    if (reviewer == NULL) {
        s_fail(o, MON_CODE(PERMISSION_DENIED), "Отчёты утверждают и возвращают методисты муниципалитета");
        return;
    }
    validation v;
    validation_init(&v);
    validate_text(&v, "comment", r->comment, 2000, !approve);
    if (!validation_ok(&v)) {
        service_call_fail_validation(call, &v);
        validation_free(&v);
        free(o);
        return;
    }
    validation_free(&v);
    char keys[4][MON_KEY_MAX], now[40], id[160];
    entity_kind_key(&monitoring_campaign_kind, o->campaign, keys[0], sizeof keys[0]);
    mon_key(keys[1], sizeof keys[1], o->region, "rs", o->campaign);
    s_report_key(o, keys[2], sizeof keys[2]);
    entity_kind_stream_key(&monitoring_campaign_kind, o->region, keys[3], sizeof keys[3]);
    clock_rfc3339(clock_unix_ms(), now, sizeof now);
    snprintf(id, sizeof id, "%s:%s", o->campaign, o->organization);
    size_t event_len = 0;
    uint8_t *event = entity_event_pack(approve ? "report.approved" : "report.returned", id, 0, NULL, 0, caller,
                                       service_call_request_id(call), &event_len);
    const char *actor = caller && caller->user_id ? caller->user_id : "";
    const char *mode = approve ? "approve" : "return", *comment = r->comment ? r->comment : "";
    const char *argv[4 + 7] = {
        keys[0], keys[1], keys[2], keys[3], mode, now, actor, comment, reviewer, (const char *)event, o->organization};
    size_t argvlen[4 + 7];
    for (int i = 0; i < 11; i++)
        argvlen[i] = i == 9 ? event_len : strlen(argv[i]);
    int rc = redis_link_evalsha(svc->link, svc->review_script, 4, 11, argv, argvlen, s_reviewed, o);
    free(event);
    if (rc != 0)
        s_fail(o, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
}

/* ---------- list and progress: the scope and the statuses of a campaign ---------- */

typedef struct {
    monitoring_service *svc;
    service_call *call;
    bool progress;
    char region[8];
    char municipality[72]; /* list filter */
    int status;            /* list filter, -1 none */
    Metodnet__MonitoringCampaign *campaign;
    redisReply *scope; /* not owned: consumed in s_statuses */
} overview_op;

static void s_overview_free(overview_op *o)
{
    if (o->campaign)
        protobuf_c_message_free_unpacked(&o->campaign->base, NULL);
    free(o);
}

static int s_status_of(const redisReply *rs, const char *org)
{
    const char *s = s_pair(rs, 0, org);
    return s ? atoi(s) : 0;
}

static void s_count(Metodnet__MunicipalityProgress *p, int status)
{
    p->required++;
    switch (status) {
    case 1:
        p->draft++;
        break;
    case 2:
        p->submitted++;
        break;
    case 3:
        p->approved++;
        break;
    case 4:
        p->returned++;
        break;
    default:
        p->not_started++;
    }
}

static void s_answer_progress(overview_op *o, const redisReply *req, const redisReply *rs)
{
    const Metodnet__Principal *caller = service_call_caller(o->call);
    const Metodnet__MonitoringCampaign *c = o->campaign;
    bool all = monitoring_manages(caller, c->region_id, c->municipality_id);
    Metodnet__MonitoringProgress out = METODNET__MONITORING_PROGRESS__INIT;
    Metodnet__MunicipalityProgress total = METODNET__MUNICIPALITY_PROGRESS__INIT;
    out.campaign_id = c->id;
    out.deadline = c->deadline;
    int64_t due = 0;
    out.past_deadline = clock_parse_rfc3339(c->deadline, &due) && clock_unix_ms() > due;
    out.total = &total;
    size_t cap = req->elements / 2 + 1;
    out.municipalities = xcalloc(cap, sizeof *out.municipalities);
    out.late = xcalloc(cap, sizeof *out.late);
    for (size_t i = 0; i + 1 < req->elements; i += 2) {
        const char *org = req->element[i]->str, *mun = req->element[i + 1]->str;
        if (!all && !monitoring_reviews(caller, c->region_id, mun))
            continue;
        int st = s_status_of(rs, org);
        Metodnet__MunicipalityProgress *m = NULL;
        for (size_t k = 0; k < out.n_municipalities && !m; k++)
            if (strcmp(out.municipalities[k]->municipality_id, mun) == 0)
                m = out.municipalities[k];
        if (m == NULL) {
            m = xmalloc(sizeof *m);
            metodnet__municipality_progress__init(m);
            m->municipality_id = (char *)mun;
            out.municipalities[out.n_municipalities++] = m;
        }
        s_count(m, st);
        s_count(&total, st);
        if (out.past_deadline && st != 2 && st != 3) {
            Metodnet__LateOrganization *l = xmalloc(sizeof *l);
            metodnet__late_organization__init(l);
            l->organization_id = (char *)org;
            l->municipality_id = (char *)mun;
            l->status = (Metodnet__ReportStatus)st;
            out.late[out.n_late++] = l;
        }
    }
    if (!all && out.n_municipalities == 0) {
        service_call_fail(o->call, MON_CODE(PERMISSION_DENIED),
                          "Ход кампании видят её организаторы и методисты муниципалитетов охвата");
    } else {
        service_call_reply(o->call, &out.base);
    }
    for (size_t k = 0; k < out.n_municipalities; k++)
        free(out.municipalities[k]);
    for (size_t k = 0; k < out.n_late; k++)
        free(out.late[k]);
    free(out.municipalities);
    free(out.late);
}

static void s_answer_list(overview_op *o, const redisReply *req, const redisReply *rs)
{
    const Metodnet__Principal *caller = service_call_caller(o->call);
    const Metodnet__MonitoringCampaign *c = o->campaign;
    bool all = monitoring_manages(caller, c->region_id, c->municipality_id);
    Metodnet__ListMonitoringReportsResponse out = METODNET__LIST_MONITORING_REPORTS_RESPONSE__INIT;
    out.items = xcalloc(req->elements / 2 + 1, sizeof *out.items);
    for (size_t i = 0; i + 1 < req->elements; i += 2) {
        const char *org = req->element[i]->str, *mun = req->element[i + 1]->str;
        int st = s_status_of(rs, org);
        if ((!all && !monitoring_reviews(caller, c->region_id, mun)) ||
            (o->municipality[0] && strcmp(o->municipality, mun) != 0) || (o->status >= 0 && st != o->status))
            continue;
        Metodnet__MonitoringReport *rep = xmalloc(sizeof *rep);
        metodnet__monitoring_report__init(rep);
        rep->campaign_id = c->id;
        rep->organization_id = (char *)org;
        rep->municipality_id = (char *)mun;
        rep->region_id = c->region_id;
        rep->status = (Metodnet__ReportStatus)st;
        out.items[out.n_items++] = rep;
    }
    if (!all && out.n_items == 0 && !(caller && caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST))
        service_call_fail(o->call, MON_CODE(PERMISSION_DENIED),
                          "Список отчётов видят организаторы кампании и методисты муниципалитетов");
    else
        service_call_reply(o->call, &out.base);
    for (size_t k = 0; k < out.n_items; k++)
        free(out.items[k]);
    free(out.items);
}

static void s_statuses(const redisReply *reply, const char *error, void *ud)
{
    overview_op *o = ud;
    const redisReply *req = reply && !error && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
                                ? reply->element[0]
                                : NULL,
                     *rs = req ? reply->element[1] : NULL;
    if (req == NULL || req->type != REDIS_REPLY_ARRAY || rs->type != REDIS_REPLY_ARRAY) {
        service_call_fail(o->call, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
        s_overview_free(o);
        return;
    }
    for (size_t i = 0; i < req->elements; i++)
        if (req->element[i]->type != REDIS_REPLY_STRING) {
            service_call_fail(o->call, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
            s_overview_free(o);
            return;
        }
    if (o->progress)
        s_answer_progress(o, req, rs);
    else
        s_answer_list(o, req, rs);
    s_overview_free(o);
}

static void s_overview_campaign(const Metodnet__MonitoringCampaign *c, Metodnet__StatusCode code,
                                const char *message_ru, void *ud)
{
    overview_op *o = ud;
    const Metodnet__Principal *caller = service_call_caller(o->call);
    if (c == NULL || !entity_kind_allows(&monitoring_campaign_kind, caller, &c->base, SCOPE_READ)) {
        service_call_fail(o->call, c ? MON_CODE(NOT_FOUND) : code,
                          c ? monitoring_campaign_kind.not_found_ru : message_ru);
        free(o);
        return;
    }
    if (caller && (caller->role == METODNET__ROLE__ROLE_SCHOOL_ADMIN || caller->role == METODNET__ROLE__ROLE_TEACHER ||
                   caller->role == METODNET__ROLE__ROLE_SCHOOL_SYSTEM)) {
        service_call_fail(o->call, MON_CODE(PERMISSION_DENIED),
                          "Ход кампании и список отчётов видят её организаторы и методисты муниципалитетов");
        free(o);
        return;
    }
    /* c is the loader's (freed after this call): keep a copy */
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
    o->campaign->version = c->version;
    snprintf(o->region, sizeof o->region, "%s", c->region_id);
    char req[MON_KEY_MAX], rs[MON_KEY_MAX];
    mon_key(req, sizeof req, o->region, "req", c->id);
    mon_key(rs, sizeof rs, o->region, "rs", c->id);
    const char *argv[2] = {req, rs};
    size_t argvlen[2] = {strlen(req), strlen(rs)};
    if (redis_link_evalsha(o->svc->link, o->svc->overview_script, 2, 2, argv, argvlen, s_statuses, o) != 0) {
        service_call_fail(o->call, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
        s_overview_free(o);
    }
}

static void s_overview(monitoring_service *svc, service_call *call, const char *id, bool progress,
                       const char *municipality, const char *status)
{
    overview_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    o->progress = progress;
    o->status = -1;
    if (mon_set(municipality)) {
        if (!id_valid(municipality)) {
            service_call_fail(call, MON_CODE(INVALID_ARGUMENT), "municipalityId: неверный идентификатор");
            free(o);
            return;
        }
        snprintf(o->municipality, sizeof o->municipality, "%s", municipality);
    }
    if (mon_set(status)) {
        static const char *const words[] = {"not_started", "draft", "submitted", "approved", "returned"};
        for (int i = 0; i < 5; i++)
            if (strcmp(words[i], status) == 0)
                o->status = i;
        if (o->status < 0) {
            service_call_fail(call, MON_CODE(INVALID_ARGUMENT),
                              "status: not_started, draft, submitted, approved или returned");
            free(o);
            return;
        }
    }
    monitoring_campaign(svc, mon_set(id) ? id : "", false, s_overview_campaign, o);
}

void monitoring_list_reports(monitoring_service *svc, service_call *call, const ProtobufCMessage *request)
{
    const Metodnet__ListMonitoringReportsRequest *r = (const Metodnet__ListMonitoringReportsRequest *)request;
    s_overview(svc, call, r->campaign_id, false, r->municipality_id, r->status);
}

void monitoring_progress(monitoring_service *svc, service_call *call, const ProtobufCMessage *request)
{
    const Metodnet__MonitoringProgressRequest *r = (const Metodnet__MonitoringProgressRequest *)request;
    s_overview(svc, call, r->id, true, NULL, NULL);
}
