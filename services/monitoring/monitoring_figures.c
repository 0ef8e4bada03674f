/* monitoring_figures — rpc CampaignFigures, what the indicators service reads of a region's monitoring
 * (system callers only; no gateway route): the campaigns whose period ends within the asked dates, each
 * with its progress per municipality, the numeric values (number, share, expert score) of the approved
 * reports, and the codes of the numeric fields of every campaign of the region and of the templates — the
 * names an own indicator's formula may use as campaign.<code> (docs/indicators.md).
 *
 * The campaigns are read from the kind's main index page by page (500), then each matching campaign's
 * scope, statuses and approved reports in one script (monitoring_scripts.c, "figures").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "monitoring_internal.h"
#include "xalloc.h"

#define FIG_MAX_CAMPAIGNS 200
#define FIG_MAX_CODES     2000

typedef struct {
    monitoring_service *svc;
    service_call *call;
    char region[16], start[11], end[11];
    char index[MON_KEY_MAX], key_prefix[MON_KEY_MAX], after[MON_KEY_MAX];
    bool has_after;
    Metodnet__MonitoringCampaign **matched; /* owned */
    size_t n_matched, next;
    char **codes;
    size_t n_codes;
    Metodnet__CampaignFiguresResponse out;
} figures_op;

static void s_free_progress(Metodnet__MunicipalityProgress *p)
{
    if (p) {
        free(p->municipality_id);
        free(p);
    }
}

static void s_free(figures_op *o)
{
    for (size_t i = 0; i < o->n_matched; i++)
        protobuf_c_message_free_unpacked(&o->matched[i]->base, NULL);
    free(o->matched);
    for (size_t i = 0; i < o->n_codes; i++)
        free(o->codes[i]);
    free(o->codes);
    for (size_t i = 0; i < o->out.n_campaigns; i++) {
        Metodnet__CampaignFigures *c = o->out.campaigns[i];
        free(c->id);
        free(c->title);
        free(c->municipality_id);
        free(c->period);
        free(c->deadline);
        s_free_progress(c->total);
        for (size_t k = 0; k < c->n_municipalities; k++)
            s_free_progress(c->municipalities[k]);
        free(c->municipalities);
        free(c);
    }
    free(o->out.campaigns);
    for (size_t i = 0; i < o->out.n_reports; i++) {
        Metodnet__ApprovedFigures *r = o->out.reports[i];
        free(r->campaign_id);
        free(r->organization_id);
        free(r->municipality_id);
        for (size_t k = 0; k < r->n_values; k++) {
            free(r->values[k]->code);
            free(r->values[k]->value);
            free(r->values[k]);
        }
        free(r->values);
        free(r);
    }
    free(o->out.reports);
    free(o);
}

static bool s_numeric(Metodnet__FieldType t)
{
    return t == METODNET__FIELD_TYPE__FIELD_TYPE_NUMBER || t == METODNET__FIELD_TYPE__FIELD_TYPE_SHARE ||
           t == METODNET__FIELD_TYPE__FIELD_TYPE_EXPERT_SCORE;
}

static void s_add_code(figures_op *o, const char *code)
{
    if (!mon_set(code) || o->n_codes >= FIG_MAX_CODES)
        return;
    for (size_t i = 0; i < o->n_codes; i++)
        if (strcmp(o->codes[i], code) == 0)
            return;
    o->codes = xrealloc(o->codes, sizeof *o->codes * (o->n_codes + 1));
    o->codes[o->n_codes++] = xstrdup(code);
}

/* The last day of a campaign's period ("2025/26" → 2026-08-31, "2026" → 2026-12-31). */
static bool s_period_end(const char *period, char out[11])
{
    if (period == NULL)
        return false;
    size_t n = strlen(period);
    if (n == 4) {
        snprintf(out, 11, "%.4s-12-31", period);
        return true;
    }
    if (n == 7 && period[4] == '/') {
        int y = atoi(period);
        if (y < 1900 || y > 2998)
            return false;
        char buf[32];
        snprintf(buf, sizeof buf, "%04d-08-31", (y + 1) % 10000);
        memcpy(out, buf, 10);
        out[10] = '\0';
        return true;
    }
    return false;
}

static Metodnet__MunicipalityProgress *s_progress(const char *mun)
{
    Metodnet__MunicipalityProgress *p = xmalloc(sizeof *p);
    metodnet__municipality_progress__init(p);
    p->municipality_id = xstrdup(mun);
    return p;
}

static void s_count(Metodnet__MunicipalityProgress *p, int status)
{
    p->required++;
    if (status == 1)
        p->draft++;
    else if (status == 2)
        p->submitted++;
    else if (status == 3)
        p->approved++;
    else if (status == 4)
        p->returned++;
    else
        p->not_started++;
}

static const char *s_hash_get(const redisReply *h, const char *field)
{
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && h->element[i + 1]->type == REDIS_REPLY_STRING &&
            strcmp(h->element[i]->str, field) == 0)
            return h->element[i + 1]->str;
    return NULL;
}

static void s_next_campaign(figures_op *o);

static void s_campaign_read(const redisReply *reply, const char *error, void *ud)
{
    figures_op *o = ud;
    const Metodnet__MonitoringCampaign *c = o->matched[o->next];
    if (error || reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_ARRAY || reply->element[1]->type != REDIS_REPLY_ARRAY ||
        reply->element[2]->type != REDIS_REPLY_ARRAY) {
        log_error(service_call_request_id(o->call), "сводка кампании %s не прочитана: %s", c->id,
                  error ? error : "неожиданный ответ");
        service_call_fail(o->call, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
        s_free(o);
        return;
    }
    const redisReply *req = reply->element[0], *rs = reply->element[1], *approved = reply->element[2];
    Metodnet__CampaignFigures *f = xmalloc(sizeof *f);
    metodnet__campaign_figures__init(f);
    f->id = xstrdup(c->id);
    f->title = xstrdup(c->title ? c->title : "");
    f->municipality_id = xstrdup(c->municipality_id ? c->municipality_id : "");
    f->period = xstrdup(c->period ? c->period : "");
    f->deadline = xstrdup(c->deadline ? c->deadline : "");
    f->status = c->status;
    f->total = s_progress("");
    f->municipalities = xcalloc(req->elements / 2 + 1, sizeof *f->municipalities);
    o->out.campaigns[o->out.n_campaigns++] = f;
    for (size_t i = 0; i + 1 < req->elements; i += 2) {
        if (req->element[i]->type != REDIS_REPLY_STRING || req->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        const char *org = req->element[i]->str, *mun = req->element[i + 1]->str;
        const char *st = s_hash_get(rs, org);
        int status = st ? atoi(st) : 0;
        Metodnet__MunicipalityProgress *m = NULL;
        for (size_t k = 0; k < f->n_municipalities && !m; k++)
            if (strcmp(f->municipalities[k]->municipality_id, mun) == 0)
                m = f->municipalities[k];
        if (m == NULL) {
            m = s_progress(mun);
            f->municipalities[f->n_municipalities++] = m;
        }
        s_count(m, status);
        s_count(f->total, status);
    }
    /* the approved reports: organization, municipality, packed values */
    if (approved->elements > 0) {
        o->out.reports =
            xrealloc(o->out.reports, sizeof *o->out.reports * (o->out.n_reports + approved->elements / 3 + 1));
        for (size_t i = 0; i + 2 < approved->elements; i += 3) {
            const redisReply *org = approved->element[i], *mun = approved->element[i + 1],
                             *d = approved->element[i + 2];
            if (org->type != REDIS_REPLY_STRING || mun->type != REDIS_REPLY_STRING || d->type != REDIS_REPLY_STRING)
                continue;
            Metodnet__MonitoringReport *rep =
                metodnet__monitoring_report__unpack(NULL, d->len, (const uint8_t *)d->str);
            if (rep == NULL)
                continue;
            Metodnet__ApprovedFigures *a = xmalloc(sizeof *a);
            metodnet__approved_figures__init(a);
            a->campaign_id = xstrdup(c->id);
            a->organization_id = xstrdup(org->str);
            a->municipality_id = xstrdup(mun->str);
            a->values = xcalloc(rep->n_values + 1, sizeof *a->values);
            for (size_t k = 0; k < rep->n_values; k++) {
                const Metodnet__FieldValue *v = rep->values[k];
                bool numeric = false;
                for (size_t j = 0; j < c->n_fields && !numeric; j++)
                    numeric = mon_eq(c->fields[j]->code, v->code) && s_numeric(c->fields[j]->type);
                if (!numeric || !mon_set(v->value))
                    continue;
                Metodnet__FieldValue *fv = xmalloc(sizeof *fv);
                metodnet__field_value__init(fv);
                fv->code = xstrdup(v->code);
                fv->value = xstrdup(v->value);
                a->values[a->n_values++] = fv;
            }
            protobuf_c_message_free_unpacked(&rep->base, NULL);
            o->out.reports[o->out.n_reports++] = a;
        }
    }
    o->next++;
    s_next_campaign(o);
}

static void s_answer(figures_op *o)
{
    Metodnet__ListFormTemplatesResponse t = METODNET__LIST_FORM_TEMPLATES_RESPONSE__INIT;
    monitoring_templates(&t);
    for (size_t i = 0; i < t.n_items; i++)
        for (size_t k = 0; k < t.items[i]->n_fields; k++)
            if (s_numeric(t.items[i]->fields[k]->type))
                s_add_code(o, t.items[i]->fields[k]->code);
    monitoring_templates_free(&t);
    o->out.numeric_codes = o->codes;
    o->out.n_numeric_codes = o->n_codes;
    service_call_reply(o->call, &o->out.base);
    o->out.numeric_codes = NULL;
    o->out.n_numeric_codes = 0;
    s_free(o);
}

static void s_next_campaign(figures_op *o)
{
    if (o->next >= o->n_matched) {
        s_answer(o);
        return;
    }
    const Metodnet__MonitoringCampaign *c = o->matched[o->next];
    char req[MON_KEY_MAX], rs[MON_KEY_MAX], prefix[MON_KEY_MAX], id[120];
    mon_key(req, sizeof req, o->region, "req", c->id);
    mon_key(rs, sizeof rs, o->region, "rs", c->id);
    snprintf(id, sizeof id, "%s:", c->id);
    mon_key(prefix, sizeof prefix, o->region, "report", id);
    const char *argv[3] = {req, rs, prefix};
    size_t argvlen[3] = {strlen(req), strlen(rs), strlen(prefix)};
    if (redis_link_evalsha(o->svc->link, o->svc->figures_script, 2, 3, argv, argvlen, s_campaign_read, o) != 0) {
        service_call_fail(o->call, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
        s_free(o);
    }
}

static void s_list_page(figures_op *o);

static void s_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                     const char *error, void *ud)
{
    figures_op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "кампании региона %s не прочитаны: %s", o->region,
                  error ? error : "");
        service_call_fail(o->call, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
        s_free(o);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        Metodnet__MonitoringCampaign *c = metodnet__monitoring_campaign__unpack(NULL, items[i].len, items[i].data);
        if (c == NULL)
            continue;
        for (size_t k = 0; k < c->n_fields; k++)
            if (s_numeric(c->fields[k]->type))
                s_add_code(o, c->fields[k]->code);
        char end[11];
        bool match = c->status != METODNET__MONITORING_CAMPAIGN_STATUS__MONITORING_CAMPAIGN_STATUS_DRAFT &&
                     s_period_end(c->period, end) && strcmp(end, o->start) >= 0 && strcmp(end, o->end) <= 0 &&
                     o->n_matched < FIG_MAX_CAMPAIGNS && mon_set(c->id);
        if (match) {
            o->matched = xrealloc(o->matched, sizeof *o->matched * (o->n_matched + 1));
            o->matched[o->n_matched++] = c;
        } else {
            protobuf_c_message_free_unpacked(&c->base, NULL);
        }
    }
    if (next_member != NULL && strlen(next_member) < sizeof o->after) {
        snprintf(o->after, sizeof o->after, "%s", next_member);
        o->has_after = true;
        s_list_page(o);
        return;
    }
    o->out.campaigns = xcalloc(o->n_matched + 1, sizeof *o->out.campaigns);
    s_next_campaign(o);
}

static void s_list_page(figures_op *o)
{
    entity_list_query q = {.index_key = o->index,
                           .after_member = o->has_after ? o->after : NULL,
                           .entity_key_prefix = o->key_prefix,
                           .limit = 500};
    if (entity_store_list(o->svc->store, &q, s_listed, o) != 0) {
        service_call_fail(o->call, MON_CODE(UNAVAILABLE), monitoring_unavailable_ru);
        s_free(o);
    }
}

static bool s_date_ok(const char *s)
{
    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    return true;
}

void monitoring_figures(monitoring_service *svc, service_call *call, const ProtobufCMessage *request)
{
    const Metodnet__CampaignFiguresRequest *r = (const Metodnet__CampaignFiguresRequest *)request;
    if (!scope_is_global(service_call_caller(call))) {
        service_call_fail(call, MON_CODE(PERMISSION_DENIED), "Сводку кампаний читает только служба показателей");
        return;
    }
    size_t rn = mon_set(r->region_id) ? strlen(r->region_id) : 0;
    if (rn == 0 || rn > 15 ||
        strspn(r->region_id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != rn ||
        !s_date_ok(r->period_start) || !s_date_ok(r->period_end)) {
        service_call_fail(call, MON_CODE(INVALID_ARGUMENT), "Укажите регион и период (даты ГГГГ-ММ-ДД)");
        return;
    }
    figures_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    metodnet__campaign_figures_response__init(&o->out);
    snprintf(o->region, sizeof o->region, "%s", r->region_id);
    snprintf(o->start, sizeof o->start, "%s", r->period_start);
    snprintf(o->end, sizeof o->end, "%s", r->period_end);
    entity_kind_main_index(&monitoring_campaign_kind, o->region, o->index, sizeof o->index);
    entity_kind_key_prefix(&monitoring_campaign_kind, o->region, o->key_prefix, sizeof o->key_prefix);
    s_list_page(o);
}
