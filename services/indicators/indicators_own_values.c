/* indicators_own_values — the values of a request with the region's own indicators: the catalogue's
 * numerators and denominators of the scope and its children (ind_values_compute), the organizations of
 * each (SCARD of ind:{r:R}:orgs:<scope>) and the approved monitoring values (rpc CampaignFigures of the
 * monitoring service) only when a formula names them, then every own formula evaluated per row with its
 * target. GetIndicatorValues answers this as JSON, or as a CSV/XLSX file (format).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formula.h"
#include "indicators_own.h"
#include "log.h"
#include "xalloc.h"

static const char *const s_unavailable_ru = "Показатели временно недоступны, повторите запрос позже";

typedef struct {
    size_t bucket;
    char *code;
    double sum;
    long long count;
} camp_sum;

typedef struct {
    indicators_service *svc;
    char region[16], kind[16], scope[64], period[48], indicator[40], by[16];
    ind_full_cb cb;
    void *ud;
    ind_own_set own;
    const ind_own_def *only; /* an own code asked: that one, no catalogue rows */
    Metodnet__GetIndicatorValuesResponse *resp;
    char **buckets; /* [0] "" = the scope, then the children (borrowed from resp) */
    size_t n_buckets, next;
    double *orgs;
    camp_sum *sums;
    size_t n_sums;
    bool need_orgs, need_camp;
} full_op;

static void s_full_free(full_op *o)
{
    ind_own_set_free(&o->own);
    free(o->buckets);
    free(o->orgs);
    for (size_t i = 0; i < o->n_sums; i++)
        free(o->sums[i].code);
    free(o->sums);
    free(o);
}

static void s_full_fail(full_op *o, Metodnet__StatusCode code, const char *field, const char *message_ru)
{
    o->cb(code, field, message_ru, NULL, o->ud);
    ind_values_free(o->resp);
    s_full_free(o);
}

static bool s_set(const char *s)
{
    return s && s[0];
}

/* ---------- evaluation ---------- */

typedef struct {
    full_op *o;
    size_t bucket;
} eval_ctx;

static const Metodnet__IndicatorValue *s_row(const full_op *o, size_t bucket, const char *code)
{
    const Metodnet__GetIndicatorValuesResponse *r = o->resp;
    if (bucket == 0) {
        for (size_t i = 0; i < r->n_items; i++)
            if (strcmp(r->items[i]->indicator, code) == 0)
                return r->items[i];
        return NULL;
    }
    for (size_t i = 0; i < r->n_breakdown; i++)
        if (!s_set(r->breakdown[i]->subject) && strcmp(r->breakdown[i]->scope_id, o->buckets[bucket]) == 0 &&
            strcmp(r->breakdown[i]->indicator, code) == 0)
            return r->breakdown[i];
    return NULL;
}

static double s_part(const full_op *o, size_t bucket, const char *code, bool den)
{
    const Metodnet__IndicatorValue *v = s_row(o, bucket, code);
    return v == NULL ? 0 : (double)(den ? v->denominator : v->numerator);
}

static bool s_lookup(const char *name, size_t index, double *value, void *ud)
{
    (void)index;
    eval_ctx *c = ud;
    const full_op *o = c->o;
    bool den = false, count = false;
    int k = ind_base_catalogue_name(name, &den);
    if (k >= 0) {
        *value = s_part(o, c->bucket, indicators_catalogue()[k].code, den);
        return true;
    }
    if (strcmp(name, "teachers") == 0)
        *value = s_part(o, c->bucket, "I6", true);
    else if (strcmp(name, "managers") == 0)
        *value = s_part(o, c->bucket, "I2", true);
    else if (strcmp(name, "staff") == 0)
        *value = s_part(o, c->bucket, "I6", true) + s_part(o, c->bucket, "I2", true);
    else if (strcmp(name, "young_teachers") == 0)
        *value = s_part(o, c->bucket, "I4", true);
    else if (strcmp(name, "organizations") == 0)
        *value = o->orgs ? o->orgs[c->bucket] : 0;
    else {
        char code[48];
        if (!ind_base_campaign_name(name, code, sizeof code, &count))
            return false;
        *value = 0;
        for (size_t i = 0; i < o->n_sums; i++)
            if (o->sums[i].bucket == c->bucket && strcmp(o->sums[i].code, code) == 0)
                *value = count ? (double)o->sums[i].count : o->sums[i].sum;
    }
    return true;
}

static double s_round(double v, int decimals)
{
    double m = decimals == 2 ? 100.0 : 10.0;
    return floor(v * m + 0.5) / m;
}

static Metodnet__IndicatorValue *s_own_value(full_op *o, const ind_own_def *d, size_t bucket, double target,
                                             bool has_target)
{
    eval_ctx c = {o, bucket};
    Metodnet__IndicatorValue *v = xcalloc(1, sizeof *v);
    metodnet__indicator_value__init(v);
    const char *child_kind = strcmp(o->by, "municipality") == 0 ? "municipality" : "organization";
    const char *name = "";
    if (bucket > 0) {
        const Metodnet__IndicatorValue *any = NULL;
        for (size_t i = 0; i < o->resp->n_breakdown && !any; i++)
            if (strcmp(o->resp->breakdown[i]->scope_id, o->buckets[bucket]) == 0 &&
                !s_set(o->resp->breakdown[i]->subject))
                any = o->resp->breakdown[i];
        name = any && any->scope_name ? any->scope_name : "";
    }
    v->indicator = xstrdup(d->def->code);
    v->scope_kind = xstrdup(bucket == 0 ? o->kind : child_kind);
    v->scope_id = xstrdup(bucket == 0 ? o->scope : o->buckets[bucket]);
    v->scope_name = xstrdup(name);
    v->subject = xstrdup("");
    v->own = true;
    v->unit = xstrdup(d->def->unit ? d->def->unit : "");
    double num = 0, den = 0;
    bool ok = formula_eval(d->num, s_lookup, &c, &num);
    bool has_den = d->den != NULL;
    if (ok && has_den)
        ok = formula_eval(d->den, s_lookup, &c, &den);
    const char *unit = d->def->unit ? d->def->unit : "";
    if (ok) {
        v->numerator_value = num;
        v->denominator_value = has_den ? den : 0;
        v->numerator = llround(num);
        v->denominator = has_den ? llround(den) : 0;
        if (strcmp(unit, "share") == 0) {
            v->has_value = den > 0;
            v->value = v->has_value ? s_round(num / den * 100.0, 1) : 0;
        } else if (strcmp(unit, "count") == 0) {
            v->has_value = true;
            v->value = s_round(num, 1);
        } else {
            v->has_value = !has_den || den != 0;
            v->value = v->has_value ? s_round(has_den ? num / den : num, 2) : 0;
        }
        if (!isfinite(v->value))
            v->has_value = false, v->value = 0;
    }
    v->has_target = has_target;
    v->target = target;
    v->met = has_target && v->has_value && v->value + 1e-9 >= target;
    return v;
}

static void s_targets_read(const redisReply *reply, const char *error, void *ud)
{
    full_op *o = ud;
    if (error || reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        s_full_fail(o, IND_CODE(UNAVAILABLE), NULL, s_unavailable_ru);
        return;
    }
    Metodnet__GetIndicatorValuesResponse *r = o->resp;
    /* every own row first (the formulas read the catalogue's rows), then the rows put together */
    size_t n_defs = o->only ? 1 : o->own.n, n_children = o->n_buckets - 1;
    Metodnet__IndicatorValue **own = xcalloc(n_defs + 1, sizeof *own);
    Metodnet__IndicatorValue **children = xcalloc(n_defs * n_children + 1, sizeof *children);
    size_t n_child_rows = 0;
    for (size_t k = 0; k < n_defs; k++) {
        const ind_own_def *d = o->only ? o->only : &o->own.items[k];
        double target = 0;
        bool has_target = false;
        for (size_t i = 0; i + 1 < reply->elements; i += 2)
            if (reply->element[i]->type == REDIS_REPLY_STRING && reply->element[i + 1]->type == REDIS_REPLY_STRING &&
                strcmp(reply->element[i]->str, d->def->code) == 0) {
                has_target = true;
                target = strtod(reply->element[i + 1]->str, NULL);
            }
        own[k] = s_own_value(o, d, 0, target, has_target);
        for (size_t b = 1; b < o->n_buckets; b++)
            children[n_child_rows++] = s_own_value(o, d, b, target, has_target);
    }
    if (o->only) {
        /* an own indicator asked: no catalogue rows */
        for (size_t i = 0; i < r->n_items; i++)
            protobuf_c_message_free_unpacked(&r->items[i]->base, NULL);
        r->n_items = 0;
        for (size_t i = 0; i < r->n_breakdown; i++)
            protobuf_c_message_free_unpacked(&r->breakdown[i]->base, NULL);
        r->n_breakdown = 0;
    }
    r->items = xrealloc(r->items, sizeof *r->items * (r->n_items + n_defs + 1));
    for (size_t k = 0; k < n_defs; k++)
        r->items[r->n_items++] = own[k];
    r->breakdown = xrealloc(r->breakdown, sizeof *r->breakdown * (r->n_breakdown + n_child_rows + 1));
    for (size_t i = 0; i < n_child_rows; i++)
        r->breakdown[r->n_breakdown++] = children[i];
    free(own);
    free(children);
    o->resp = NULL;
    o->cb(IND_CODE(OK), NULL, NULL, r, o->ud);
    s_full_free(o);
}

static void s_evaluate(full_op *o)
{
    if (redis_link_commandf(o->svc->link, s_targets_read, o, "HGETALL ind:{r:%s}:targets", o->region) != 0)
        s_full_fail(o, IND_CODE(UNAVAILABLE), NULL, s_unavailable_ru);
}

/* ---------- campaign values ---------- */

static size_t s_bucket_of(const full_op *o, const char *org, const char *mun, bool *in_scope)
{
    *in_scope = strcmp(o->kind, "region") == 0 ||
                (strcmp(o->kind, "municipality") == 0 && strcmp(mun, o->scope) == 0) ||
                (strcmp(o->kind, "organization") == 0 && strcmp(org, o->scope) == 0);
    const char *child = strcmp(o->by, "municipality") == 0 ? mun : strcmp(o->by, "organization") == 0 ? org : NULL;
    for (size_t b = 1; child && b < o->n_buckets; b++)
        if (strcmp(o->buckets[b], child) == 0)
            return b;
    return 0;
}

static void s_add_sum(full_op *o, size_t bucket, const char *code, double v)
{
    for (size_t i = 0; i < o->n_sums; i++)
        if (o->sums[i].bucket == bucket && strcmp(o->sums[i].code, code) == 0) {
            o->sums[i].sum += v;
            o->sums[i].count++;
            return;
        }
    o->sums = xrealloc(o->sums, sizeof *o->sums * (o->n_sums + 1));
    o->sums[o->n_sums++] = (camp_sum){bucket, xstrdup(code), v, 1};
}

static void s_figures(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    full_op *o = ud;
    if (status->code != IND_CODE(OK) || response == NULL) {
        log_error(NULL, "мониторинг не ответил: %s", status->message ? status->message : "");
        s_full_fail(o, IND_CODE(UNAVAILABLE), NULL,
                    "Служба мониторинга недоступна: собственные показатели с полями кампаний не посчитать, повторите "
                    "позже");
        return;
    }
    const Metodnet__CampaignFiguresResponse *r = (const Metodnet__CampaignFiguresResponse *)response;
    for (size_t i = 0; i < r->n_reports; i++) {
        const Metodnet__ApprovedFigures *a = r->reports[i];
        bool in_scope = false;
        size_t b = s_bucket_of(o, a->organization_id ? a->organization_id : "",
                               a->municipality_id ? a->municipality_id : "", &in_scope);
        if (!in_scope)
            continue;
        for (size_t k = 0; k < a->n_values; k++) {
            const Metodnet__FieldValue *v = a->values[k];
            char buf[64];
            snprintf(buf, sizeof buf, "%s", v->value ? v->value : "");
            for (char *p = buf; *p; p++)
                if (*p == ',')
                    *p = '.';
            char *end = NULL;
            double x = strtod(buf, &end);
            if (end == buf || *end != '\0' || !isfinite(x) || !s_set(v->code))
                continue;
            s_add_sum(o, 0, v->code, x);
            if (b > 0)
                s_add_sum(o, b, v->code, x);
        }
    }
    s_evaluate(o);
}

static void s_campaigns(full_op *o)
{
    if (!o->need_camp) {
        s_evaluate(o);
        return;
    }
    Metodnet__CampaignFiguresRequest q = METODNET__CAMPAIGN_FIGURES_REQUEST__INIT;
    q.region_id = o->region;
    q.period_start = o->resp->period_start;
    q.period_end = o->resp->period_end;
    service_client_request r = {.service = "monitoring",
                                .method = "CampaignFigures",
                                .request = &q.base,
                                .response = &metodnet__campaign_figures_response__descriptor,
                                .caller = service_client_system_principal(),
                                .timeout_ms = 10000};
    if (service_client_call(o->svc->broker, &r, s_figures, o) != 0)
        s_full_fail(o, IND_CODE(UNAVAILABLE), NULL, "Служба мониторинга недоступна, повторите позже");
}

/* ---------- organizations per bucket ---------- */

static void s_next_org(full_op *o);

static void s_org_counted(const redisReply *reply, const char *error, void *ud)
{
    full_op *o = ud;
    if (error || reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        s_full_fail(o, IND_CODE(UNAVAILABLE), NULL, s_unavailable_ru);
        return;
    }
    o->orgs[o->next++] = (double)reply->integer;
    s_next_org(o);
}

static void s_next_org(full_op *o)
{
    while (o->next < o->n_buckets) {
        bool org = o->next == 0 ? strcmp(o->kind, "organization") == 0 : strcmp(o->by, "organization") == 0;
        if (!org)
            break;
        o->orgs[o->next++] = 1;
    }
    if (o->next >= o->n_buckets) {
        s_campaigns(o);
        return;
    }
    const char *id = o->next == 0 ? o->scope : o->buckets[o->next];
    if (redis_link_commandf(o->svc->link, s_org_counted, o, "SCARD ind:{r:%s}:orgs:%s", o->region, id) != 0)
        s_full_fail(o, IND_CODE(UNAVAILABLE), NULL, s_unavailable_ru);
}

/* ---------- the flow ---------- */

static bool s_names(const formula *f, const char *name)
{
    for (size_t i = 0; f && i < formula_identifier_count(f); i++) {
        const char *id = formula_identifier(f, i);
        if (name ? strcmp(id, name) == 0 : strncmp(id, "campaign.", 9) == 0)
            return true;
    }
    return false;
}

static void s_computed(Metodnet__StatusCode code, const char *message_ru, Metodnet__GetIndicatorValuesResponse *resp,
                       void *ud)
{
    full_op *o = ud;
    if (code != IND_CODE(OK)) {
        s_full_fail(o, code, code == IND_CODE(INVALID_ARGUMENT) ? "period" : NULL, message_ru);
        return;
    }
    o->resp = resp;
    o->buckets = xcalloc(resp->n_breakdown + 2, sizeof *o->buckets);
    o->buckets[o->n_buckets++] = "";
    if (strcmp(o->by, "municipality") == 0 || strcmp(o->by, "organization") == 0)
        for (size_t i = 0; i < resp->n_breakdown; i++) {
            const Metodnet__IndicatorValue *v = resp->breakdown[i];
            if (s_set(v->subject) || !s_set(v->scope_id))
                continue;
            bool seen = false;
            for (size_t b = 1; b < o->n_buckets && !seen; b++)
                seen = strcmp(o->buckets[b], v->scope_id) == 0;
            if (!seen)
                o->buckets[o->n_buckets++] = v->scope_id;
        }
    o->orgs = xcalloc(o->n_buckets, sizeof *o->orgs);
    for (size_t k = 0; k < o->own.n; k++) {
        const ind_own_def *d = &o->own.items[k];
        if (o->only && d != o->only)
            continue;
        o->need_orgs |= s_names(d->num, "organizations") || s_names(d->den, "organizations");
        o->need_camp |= s_names(d->num, NULL) || s_names(d->den, NULL);
    }
    if (o->need_orgs)
        s_next_org(o);
    else
        s_campaigns(o);
}

static void s_passthrough(Metodnet__StatusCode code, const char *message_ru, Metodnet__GetIndicatorValuesResponse *resp,
                          void *ud)
{
    full_op *o = ud;
    o->cb(code, code == IND_CODE(INVALID_ARGUMENT) ? "period" : NULL, message_ru, resp, o->ud);
    s_full_free(o);
}

static void s_own_loaded(const redisReply *reply, const char *error, void *ud)
{
    full_op *o = ud;
    if (error || reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        s_full_fail(o, IND_CODE(UNAVAILABLE), NULL, s_unavailable_ru);
        return;
    }
    ind_own_set_load(reply, NULL, &o->own);
    char prefix[48];
    snprintf(prefix, sizeof prefix, "ind:{r:%s}:", o->region);
    if (s_set(o->indicator) && indicators_find(o->indicator)) {
        ind_values_compute(o->svc, prefix, o->region, o->kind, o->scope, o->period, o->indicator, o->by, s_passthrough,
                           o);
        return;
    }
    if (s_set(o->indicator)) {
        o->only = ind_own_set_find(&o->own, o->indicator);
        if (o->only == NULL) {
            char m[160];
            snprintf(m, sizeof m, "Нет такого показателя: %.40s (I1…I13 или собственный показатель региона)",
                     o->indicator);
            s_full_fail(o, IND_CODE(INVALID_ARGUMENT), "indicator", m);
            return;
        }
    }
    ind_values_compute(o->svc, prefix, o->region, o->kind, o->scope, o->period, "", o->by,
                       o->own.n == 0 ? s_passthrough : s_computed, o);
}

void ind_values_full(indicators_service *svc, const char *region, const char *kind, const char *scope,
                     const char *period, const char *indicator, const char *by, ind_full_cb cb, void *ud)
{
    full_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->cb = cb;
    o->ud = ud;
    snprintf(o->region, sizeof o->region, "%s", region);
    snprintf(o->kind, sizeof o->kind, "%s", kind);
    snprintf(o->scope, sizeof o->scope, "%s", scope);
    snprintf(o->period, sizeof o->period, "%s", period ? period : "");
    snprintf(o->indicator, sizeof o->indicator, "%s", indicator ? indicator : "");
    snprintf(o->by, sizeof o->by, "%s", by ? by : "");
    if (redis_link_commandf(svc->link, s_own_loaded, o, "HGETALL ind:{r:%s}:own", region) != 0)
        s_full_fail(o, IND_CODE(UNAVAILABLE), NULL, s_unavailable_ru);
}

/* ---------- GetIndicatorValues: JSON or a file ---------- */

typedef struct {
    indicators_service *svc;
    service_call *call;
    char format[8], region[16];
    char scope_name[64];
    Metodnet__GetIndicatorValuesResponse *resp;
} request_op;

static void s_fail_field(service_call *call, Metodnet__StatusCode code, const char *field, const char *message_ru)
{
    if (code == IND_CODE(INVALID_ARGUMENT) && field) {
        validation v;
        validation_init(&v);
        validation_add(&v, field, "%s", message_ru);
        service_call_fail_validation(call, &v);
        validation_free(&v);
    } else {
        service_call_fail(call, code, message_ru);
    }
}

static void s_names_loaded(bool ok, Metodnet__ListIndicatorsResponse *names, void *ud)
{
    request_op *o = ud;
    Metodnet__FileBody *file = xcalloc(1, sizeof *file);
    metodnet__file_body__init(file);
    if (ind_export_values(o->resp, ok ? names : NULL, o->format, o->scope_name, file) != 0) {
        protobuf_c_message_free_unpacked(&file->base, NULL);
        service_call_fail(o->call, IND_CODE(INTERNAL), "Файл выгрузки не удалось сформировать");
    } else {
        o->resp->file = file;
        service_call_reply(o->call, &o->resp->base);
    }
    ind_catalogue_free(names);
    ind_values_free(o->resp);
    free(o);
}

static void s_request_done(Metodnet__StatusCode code, const char *field, const char *message_ru,
                           Metodnet__GetIndicatorValuesResponse *resp, void *ud)
{
    request_op *o = ud;
    if (code != IND_CODE(OK)) {
        s_fail_field(o->call, code, field, message_ru);
        free(o);
        return;
    }
    if (!o->format[0]) {
        service_call_reply(o->call, &resp->base);
        ind_values_free(resp);
        free(o);
        return;
    }
    o->resp = resp;
    ind_catalogue_load(o->svc, o->region, s_names_loaded, o);
}

void ind_values_request(indicators_service *svc, service_call *call, const char *region, const char *kind,
                        const char *scope, const Metodnet__GetIndicatorValuesRequest *req)
{
    const char *format = s_set(req->format) ? req->format : "";
    if (format[0] && strcmp(format, "csv") != 0 && strcmp(format, "xlsx") != 0) {
        s_fail_field(call, IND_CODE(INVALID_ARGUMENT), "format", "Формат выгрузки: csv или xlsx");
        return;
    }
    request_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    snprintf(o->region, sizeof o->region, "%s", region);
    snprintf(o->format, sizeof o->format, "%s", format);
    snprintf(o->scope_name, sizeof o->scope_name, "%s", scope);
    ind_values_full(svc, region, kind, scope, req->period, req->indicator, req->by, s_request_done, o);
}
