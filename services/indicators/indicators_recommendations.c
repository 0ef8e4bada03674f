/* indicators_recommendations — addressed recommendations for every indicator of a scope below its target
 * (INDICATORS.md «Targets and targeted recommendations»), written on request: the scope's children
 * (municipalities of a region, organizations of a municipality) ranked by how many of their people must
 * still be reached, one recommendation per contributor addressed to whoever must act (the municipal
 * methodological service, the school head), in Russian («МКОУ СОШ № 3: направить на диагностику 12
 * педагогов»), a deadline (the end of the period) and a state sent → accepted → done. A recommendation's
 * id is derived from indicator + scope + period + addressee, so asking again refreshes its figures and
 * keeps its state. A school with low results or in difficult conditions is marked ШНОР.
 * Stored packed in the hash ind:{r:R}:rec (id → Recommendation).
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

#define REC_TOP 5

static const char *const s_unavailable_ru = "Показатели временно недоступны, повторите запрос позже";

typedef struct {
    indicators_service *svc;
    service_call *call;
    char region[16], kind[16], scope[64], status[16], indicator[40];
    Metodnet__GetIndicatorValuesResponse *values;
    Metodnet__Recommendation **recs;
    size_t n;
    char at[40];
} rec_op;

static void s_read_flags(rec_op *o);

static void s_op_free(rec_op *o)
{
    for (size_t i = 0; i < o->n; i++)
        protobuf_c_message_free_unpacked(&o->recs[i]->base, NULL);
    free(o->recs);
    ind_values_free(o->values);
    free(o);
}

static unsigned long long s_fnv(const char *s)
{
    unsigned long long h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static const char *s_people(const char *code)
{
    if (strcmp(code, "I2") == 0)
        return "управленческих кадров";
    if (strcmp(code, "I12") == 0)
        return "управленческих команд";
    if (strcmp(code, "I4") == 0 || strcmp(code, "I13") == 0)
        return "молодых педагогов";
    return "педагогов";
}

static const char *const s_status_names[] = {"", "sent", "accepted", "done"};

static bool s_visible(const Metodnet__Principal *p, const Metodnet__Recommendation *r)
{
    if (scope_is_global(p))
        return true;
    if (!p->region_id || strcmp(p->region_id, r->region_id) != 0 || p->role == METODNET__ROLE__ROLE_TEACHER)
        return false;
    switch (p->scope_kind) {
    case METODNET__SCOPE_KIND__SCOPE_KIND_REGION:
        return true;
    case METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY:
        return strcmp(r->municipality_id, p->scope_id) == 0 || strcmp(r->addressee_id, p->scope_id) == 0;
    case METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION:
        return strcmp(r->addressee_id, p->scope_id) == 0;
    default:
        return false;
    }
}

static Metodnet__Recommendation *s_new_rec(rec_op *o, const Metodnet__IndicatorValue *own,
                                           const Metodnet__IndicatorValue *child, int64_t need, const char *period,
                                           const char *period_end)
{
    const indicator_def *d = indicators_find(own->indicator);
    Metodnet__Recommendation *r = xcalloc(1, sizeof *r);
    metodnet__recommendation__init(r);
    char identity[256], id[48], text[512];
    const Metodnet__IndicatorValue *who = child ? child : own;
    snprintf(identity, sizeof identity, "%s|%s|%s|%s|%s", own->indicator, o->kind, o->scope, period, who->scope_id);
    snprintf(id, sizeof id, "%s-r%012llx", o->region, s_fnv(identity) & 0xffffffffffffULL);
    r->id = xstrdup(id);
    r->region_id = xstrdup(o->region);
    r->indicator = xstrdup(own->indicator);
    r->scope_kind = xstrdup(o->kind);
    r->scope_id = xstrdup(o->scope);
    r->period = xstrdup(period);
    r->value = own->value;
    r->target = own->target;
    r->people_to_reach = need;
    const char *name = who->scope_name && who->scope_name[0] ? who->scope_name : who->scope_id;
    if (d == NULL) /* the region's own indicator (indicators_formulas.c): a share or a count */
        snprintf(text, sizeof text, "%s: довести показатель %s до цели — не хватает %lld (%s: %.1f%s при цели %.1f%s)",
                 name, own->indicator, (long long)need, own->indicator, who->has_value ? who->value : 0.0,
                 strcmp(own->unit, "share") == 0 ? " %" : "", own->target, strcmp(own->unit, "share") == 0 ? " %" : "");
    else if (d->share)
        snprintf(text, sizeof text, "%s: %s %lld %s (%s: %.1f %% при цели %.1f %%)", name, d->action_ru,
                 (long long)need, s_people(own->indicator), own->indicator, who->has_value ? who->value : 0.0,
                 own->target);
    else
        snprintf(text, sizeof text, "%s: %s — не хватает %lld (%s: %lld при цели %.0f)", name, d->action_ru,
                 (long long)need, own->indicator, (long long)own->numerator, own->target);
    r->text = xstrdup(text);
    bool org = strcmp(who->scope_kind, "organization") == 0;
    bool mun = strcmp(who->scope_kind, "municipality") == 0;
    r->addressee_kind = xstrdup(org ? "school_head" : mun ? "municipal_service" : "regional_operator");
    r->addressee_id = xstrdup(who->scope_id);
    r->addressee_name = xstrdup(name);
    r->deadline = xstrdup(period_end);
    r->status = METODNET__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_SENT;
    r->version = 1;
    r->created_at = xstrdup(o->at);
    r->updated_at = xstrdup(o->at);
    r->municipality_id = xstrdup(mun ? who->scope_id : strcmp(o->kind, "municipality") == 0 ? o->scope : "");
    /* the contributors, ranked: the children of the scope with people still to reach */
    return r;
}

static int s_by_need(const void *a, const void *b)
{
    const Metodnet__GapContributor *x = *(Metodnet__GapContributor *const *)a;
    const Metodnet__GapContributor *y = *(Metodnet__GapContributor *const *)b;
    if (x->people_to_reach != y->people_to_reach)
        return x->people_to_reach < y->people_to_reach ? 1 : -1;
    return strcmp(x->id, y->id);
}

static void s_reply(rec_op *o)
{
    Metodnet__ListRecommendationsResponse resp = METODNET__LIST_RECOMMENDATIONS_RESPONSE__INIT;
    Metodnet__Recommendation **items = xcalloc(o->n + 1, sizeof *items);
    const Metodnet__Principal *p = service_call_caller(o->call);
    for (size_t i = 0; i < o->n; i++) {
        Metodnet__Recommendation *r = o->recs[i];
        if (!s_visible(p, r))
            continue;
        if (o->status[0] && strcmp(s_status_names[r->status], o->status) != 0)
            continue;
        items[resp.n_items++] = r;
    }
    resp.items = items;
    resp.next_cursor = "";
    service_call_reply(o->call, &resp.base);
    free(items);
    s_op_free(o);
}

static void s_saved(const redisReply *reply, const char *error, void *ud)
{
    rec_op *o = ud;
    if (error || !reply || reply->type == REDIS_REPLY_ERROR) {
        service_call_fail(o->call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        s_op_free(o);
        return;
    }
    s_reply(o);
}

/* the stored ones (state, version, created_at kept), then everything saved */
static void s_known(const redisReply *reply, const char *error, void *ud)
{
    rec_op *o = ud;
    if (error || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != o->n) {
        service_call_fail(o->call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        s_op_free(o);
        return;
    }
    size_t argc = 2 + 2 * o->n;
    const char **argv = xcalloc(argc, sizeof *argv);
    size_t *lens = xcalloc(argc, sizeof *lens);
    uint8_t **bufs = xcalloc(o->n + 1, sizeof *bufs);
    char key[64];
    snprintf(key, sizeof key, "ind:{r:%s}:rec", o->region);
    argv[0] = "HSET";
    lens[0] = 4;
    argv[1] = key;
    lens[1] = strlen(key);
    for (size_t i = 0; i < o->n; i++) {
        Metodnet__Recommendation *r = o->recs[i];
        const redisReply *e = reply->element[i];
        if (e->type == REDIS_REPLY_STRING) {
            Metodnet__Recommendation *old = metodnet__recommendation__unpack(NULL, e->len, (const uint8_t *)e->str);
            if (old) {
                r->status = old->status;
                r->version = old->version;
                free(r->created_at);
                r->created_at = xstrdup(old->created_at);
                free(r->updated_at);
                r->updated_at = xstrdup(old->updated_at);
                metodnet__recommendation__free_unpacked(old, NULL);
            }
        }
        size_t len = protobuf_c_message_get_packed_size(&r->base);
        bufs[i] = xmalloc(len + 1);
        protobuf_c_message_pack(&r->base, bufs[i]);
        argv[2 + 2 * i] = r->id;
        lens[2 + 2 * i] = strlen(r->id);
        argv[3 + 2 * i] = (const char *)bufs[i];
        lens[3 + 2 * i] = len;
    }
    if (redis_link_command(o->svc->link, s_saved, o, (int)argc, argv, lens) != 0) {
        service_call_fail(o->call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        s_op_free(o);
    }
    for (size_t i = 0; i < o->n; i++)
        free(bufs[i]);
    free(bufs);
    free(argv);
    free(lens);
}

/* the flags are read: load the stored ones */
static void s_load_known(const redisReply *reply, const char *error, void *ud)
{
    rec_op *o = ud;
    (void)reply;
    (void)error;
    size_t argc = 2 + o->n;
    const char **argv = xcalloc(argc, sizeof *argv);
    char key[64];
    snprintf(key, sizeof key, "ind:{r:%s}:rec", o->region);
    argv[0] = "HMGET";
    argv[1] = key;
    for (size_t i = 0; i < o->n; i++)
        argv[2 + i] = o->recs[i]->id;
    if (redis_link_command(o->svc->link, s_known, o, (int)argc, argv, NULL) != 0) {
        service_call_fail(o->call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        s_op_free(o);
    }
    free(argv);
}

static void s_counted(Metodnet__StatusCode code, const char *message_ru, Metodnet__GetIndicatorValuesResponse *resp,
                      void *ud)
{
    rec_op *o = ud;
    if (code != IND_CODE(OK)) {
        if (code == IND_CODE(INVALID_ARGUMENT)) {
            validation v;
            validation_init(&v);
            validation_add(&v, "period", "%s", message_ru);
            service_call_fail_validation(o->call, &v);
            validation_free(&v);
        } else
            service_call_fail(o->call, code, message_ru);
        s_op_free(o);
        return;
    }
    o->values = resp;
    o->recs = xcalloc(resp->n_items * (REC_TOP + 1) + 1, sizeof *o->recs);
    for (size_t i = 0; i < resp->n_items; i++) {
        const Metodnet__IndicatorValue *own = resp->items[i];
        const indicator_def *d = indicators_find(own->indicator);
        /* an own indicator: a share or a count like the catalogue's (a "number" has nobody to reach) */
        bool own_share = own->own && strcmp(own->unit, "share") == 0,
             own_count = own->own && strcmp(own->unit, "count") == 0;
        if ((!d && !own_share && !own_count) || !own->has_target || !own->has_value || own->met)
            continue;
        if (o->indicator[0] && strcmp(o->indicator, own->indicator) != 0)
            continue;
        bool share = d ? d->share : own_share;
        int64_t need = share ? indicators_people_to_reach(own->numerator, own->denominator, own->target)
                             : (int64_t)(own->target + 0.999) - own->numerator;
        if (need <= 0)
            continue;
        /* contributors: the children below target, by how many of their people are still to reach */
        Metodnet__GapContributor *contrib[256];
        size_t nc = 0;
        for (size_t k = 0; k < resp->n_breakdown && nc < 256; k++) {
            const Metodnet__IndicatorValue *c = resp->breakdown[k];
            if (strcmp(c->indicator, own->indicator) != 0 || (c->subject && c->subject[0]))
                continue;
            int64_t gap = share ? indicators_people_to_reach(c->numerator, c->denominator, own->target)
                                : (c->numerator == 0 ? 1 : 0);
            if (gap <= 0)
                continue;
            Metodnet__GapContributor *g = xcalloc(1, sizeof *g);
            metodnet__gap_contributor__init(g);
            g->kind = xstrdup(c->scope_kind);
            g->id = xstrdup(c->scope_id);
            g->name = xstrdup(c->scope_name ? c->scope_name : "");
            g->numerator = c->numerator;
            g->denominator = c->denominator;
            g->people_to_reach = gap;
            contrib[nc++] = g;
        }
        qsort(contrib, nc, sizeof contrib[0], s_by_need);
        if (nc == 0) {
            Metodnet__Recommendation *r = s_new_rec(o, own, NULL, need, resp->period, resp->period_end);
            o->recs[o->n++] = r;
            continue;
        }
        for (size_t k = 0; k < nc; k++) {
            if (k < REC_TOP) {
                /* the addressee's own figures */
                const Metodnet__IndicatorValue *child = NULL;
                for (size_t j = 0; j < resp->n_breakdown; j++)
                    if (strcmp(resp->breakdown[j]->indicator, own->indicator) == 0 &&
                        strcmp(resp->breakdown[j]->scope_id, contrib[k]->id) == 0 && !resp->breakdown[j]->subject[0])
                        child = resp->breakdown[j];
                Metodnet__Recommendation *r =
                    s_new_rec(o, own, child, contrib[k]->people_to_reach, resp->period, resp->period_end);
                r->contributors = xcalloc(nc, sizeof *r->contributors);
                for (size_t j = 0; j < nc; j++) {
                    Metodnet__GapContributor *g = xcalloc(1, sizeof *g);
                    metodnet__gap_contributor__init(g);
                    g->kind = xstrdup(contrib[j]->kind);
                    g->id = xstrdup(contrib[j]->id);
                    g->name = xstrdup(contrib[j]->name);
                    g->numerator = contrib[j]->numerator;
                    g->denominator = contrib[j]->denominator;
                    g->people_to_reach = contrib[j]->people_to_reach;
                    r->contributors[r->n_contributors++] = g;
                }
                o->recs[o->n++] = r;
            }
        }
        for (size_t k = 0; k < nc; k++)
            protobuf_c_message_free_unpacked(&contrib[k]->base, NULL);
    }
    if (o->n == 0) {
        s_reply(o);
        return;
    }
    s_read_flags(o);
}

static void s_counted_full(Metodnet__StatusCode code, const char *field, const char *message_ru,
                           Metodnet__GetIndicatorValuesResponse *resp, void *ud)
{
    (void)field; /* INVALID_ARGUMENT here is the period's (the indicator is not passed) */
    s_counted(code, message_ru, resp, ud);
}

/* reads the ШНОР flag of each organization addressee, one HGET after another, then continues */
typedef struct {
    rec_op *o;
    size_t i;
} flag_op;

static void s_flag_next(flag_op *f);

static void s_flag_read(const redisReply *reply, const char *error, void *ud)
{
    flag_op *f = ud;
    if (!error && reply && reply->type == REDIS_REPLY_STRING)
        f->o->recs[f->i]->shnor = strcmp(reply->str, "1") == 0;
    f->i++;
    s_flag_next(f);
}

static void s_flag_next(flag_op *f)
{
    rec_op *o = f->o;
    while (f->i < o->n && strcmp(o->recs[f->i]->addressee_kind, "school_head") != 0)
        f->i++;
    if (f->i >= o->n) {
        free(f);
        s_load_known(NULL, NULL, o);
        return;
    }
    if (redis_link_commandf(o->svc->link, s_flag_read, f, "HGET ind:{r:%s}:o:%s shnor", o->region,
                            o->recs[f->i]->addressee_id) != 0) {
        f->i++;
        s_flag_next(f);
    }
}

static void s_read_flags(rec_op *o)
{
    flag_op *f = xcalloc(1, sizeof *f);
    f->o = o;
    s_flag_next(f);
}

void ind_recommendations_list(indicators_service *svc, service_call *call, const char *region, const char *kind,
                              const char *scope, const Metodnet__ListRecommendationsRequest *req)
{
    rec_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    snprintf(o->region, sizeof o->region, "%s", region);
    snprintf(o->kind, sizeof o->kind, "%s", kind);
    snprintf(o->scope, sizeof o->scope, "%s", scope);
    snprintf(o->status, sizeof o->status, "%s", req->status ? req->status : "");
    snprintf(o->indicator, sizeof o->indicator, "%s", req->indicator ? req->indicator : "");
    clock_rfc3339(clock_unix_ms(), o->at, sizeof o->at);
    if (o->status[0] && strcmp(o->status, "sent") != 0 && strcmp(o->status, "accepted") != 0 &&
        strcmp(o->status, "done") != 0) {
        validation v;
        validation_init(&v);
        validation_add(&v, "status", "Состояние: sent, accepted или done");
        service_call_fail_validation(call, &v);
        validation_free(&v);
        free(o);
        return;
    }
    const char *by = strcmp(kind, "region") == 0         ? "municipality"
                     : strcmp(kind, "municipality") == 0 ? "organization"
                                                         : "";
    /* the catalogue's and the region's own indicators (indicators_own_values.c) */
    ind_values_full(svc, region, kind, scope, req->period, "", by, s_counted_full, o);
}

/* ---------- the state ---------- */

typedef struct {
    indicators_service *svc;
    service_call *call;
    const Metodnet__SetRecommendationStatusRequest *req; /* owned by the call */
    Metodnet__Recommendation *r;
    char region[16];
    uint8_t *buf;
} status_op;

static void s_status_saved(const redisReply *reply, const char *error, void *ud)
{
    status_op *s = ud;
    if (error || !reply || reply->type == REDIS_REPLY_ERROR)
        service_call_fail(s->call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
    else
        service_call_reply(s->call, &s->r->base);
    metodnet__recommendation__free_unpacked(s->r, NULL);
    free(s->buf);
    free(s);
}

static void s_status_loaded(const redisReply *reply, const char *error, void *ud)
{
    status_op *s = ud;
    service_call *call = s->call;
    if (error || !reply) {
        service_call_fail(call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        free(s);
        return;
    }
    Metodnet__Recommendation *r = reply->type == REDIS_REPLY_STRING
                                      ? metodnet__recommendation__unpack(NULL, reply->len, (const uint8_t *)reply->str)
                                      : NULL;
    const Metodnet__Principal *p = service_call_caller(call);
    if (!r || !s_visible(p, r)) {
        service_call_fail(call, IND_CODE(NOT_FOUND), "Рекомендация не найдена");
        if (r)
            metodnet__recommendation__free_unpacked(r, NULL);
        free(s);
        return;
    }
    const Metodnet__SetRecommendationStatusRequest *q = s->req;
    int want = 0;
    for (int i = 1; i <= 3; i++)
        if (q->status && strcmp(q->status, s_status_names[i]) == 0)
            want = i;
    bool writable = scope_is_global(p) ||
                    (p->role != METODNET__ROLE__ROLE_SCHOOL_SYSTEM && p->role != METODNET__ROLE__ROLE_TEACHER);
    const char *refuse = NULL;
    Metodnet__StatusCode code = IND_CODE(CONFLICT);
    if (!writable) {
        refuse = "Состояние рекомендации меняет её адресат или региональный оператор";
        code = IND_CODE(PERMISSION_DENIED);
    } else if (want == 0) {
        refuse = "Состояние: accepted (принята) или done (выполнена)";
        code = IND_CODE(INVALID_ARGUMENT);
    } else if (q->expected_version && q->expected_version != r->version) {
        refuse = "Рекомендацию уже изменили: обновите её и повторите";
        code = IND_CODE(VERSION_MISMATCH);
    } else if (want != (int)r->status + 1) {
        refuse = "Состояние рекомендации меняется только по порядку: отправлена → принята → выполнена";
    }
    if (refuse) {
        service_call_fail(call, code, refuse);
        metodnet__recommendation__free_unpacked(r, NULL);
        free(s);
        return;
    }
    r->status = (Metodnet__RecommendationStatus)want;
    r->version++;
    char at[40];
    clock_rfc3339(clock_unix_ms(), at, sizeof at);
    free(r->updated_at);
    r->updated_at = xstrdup(at);
    s->r = r;
    size_t len = protobuf_c_message_get_packed_size(&r->base);
    s->buf = xmalloc(len + 1);
    protobuf_c_message_pack(&r->base, s->buf);
    if (redis_link_commandf(s->svc->link, s_status_saved, s, "HSET ind:{r:%s}:rec %s %b", s->region, r->id, s->buf,
                            len) != 0) {
        service_call_fail(call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        metodnet__recommendation__free_unpacked(r, NULL);
        free(s->buf);
        free(s);
    }
}

void ind_recommendation_status(indicators_service *svc, service_call *call,
                               const Metodnet__SetRecommendationStatusRequest *req)
{
    const char *id = req->id;
    const char *dash = id ? strchr(id, '-') : NULL;
    bool ok = dash && dash > id && (size_t)(dash - id) < 16 && dash[1] == 'r' && strlen(id) < 40;
    for (const char *p = id; ok && *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || *p == '-'))
            ok = false;
    if (!ok) {
        service_call_fail(call, IND_CODE(NOT_FOUND), "Рекомендация не найдена");
        return;
    }
    status_op *s = xcalloc(1, sizeof *s);
    s->svc = svc;
    s->call = call;
    s->req = req;
    memcpy(s->region, id, (size_t)(dash - id));
    if (redis_link_commandf(svc->link, s_status_loaded, s, "HGET ind:{r:%s}:rec %s", s->region, id) != 0) {
        service_call_fail(call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        free(s);
    }
}
