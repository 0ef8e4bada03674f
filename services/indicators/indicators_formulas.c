/* indicators_formulas — the region's own indicators: formulas over base metrics (common/formula.h)
 * validated on save (the error's position in Russian, unknown names refused naming them), stored in
 * ind:{r:R}:own with versions (create, update with If-Match, delete — one script each), listed with the
 * catalogue, and evaluated in the values of every scope and child like the catalogue's (targets, met).
 *
 * Base metrics of a scope and period (docs/indicators.md, «Собственные показатели»):
 *   I1.num … I13.num, and I<n>.den of the shares — the catalogue's numerators and denominators;
 *   teachers (= I6.den), managers (= I2.den), staff (teachers + managers), young_teachers (= I4.den),
 *   organizations (every organization of the territory; 1 for an organization);
 *   campaign.<code> — the sum of a numeric field (number, share, expert score) over the approved reports
 *   of the territory's organizations in the monitoring campaigns whose period ends within the period,
 *   campaign.<code>.count — how many such reports have it (an average: campaign.x / campaign.x.count).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "formula.h"
#include "indicators_own.h"
#include "log.h"
#include "scope.h"
#include "xalloc.h"

static const char *const s_unavailable_ru = "Показатели временно недоступны, повторите запрос позже";

/* ---------- the script: create, update, delete with versions ---------- */

/* KEYS: [1] own, [2] ownver, [3] targets, [4] targetver. ARGV: [1] op create|update|delete, [2] code,
 * [3] expected version (0 = any), [4] packed Indicator, [5] the limit of own indicators.
 * Returns {0, version} done; {1, version} exists already; {2, 0} no such; {3, 0} too many;
 * {4, version} another version. */
static const char s_own_lua[] = "local op, code, expected = ARGV[1], ARGV[2], tonumber(ARGV[3]) or 0\n"
                                "local cur = redis.call('HGET', KEYS[1], code)\n"
                                "local ver = tonumber(redis.call('HGET', KEYS[2], code) or '0')\n"
                                "if op == 'create' then\n"
                                "  if cur then return {1, ver} end\n"
                                "  if #redis.call('HGETALL', KEYS[1]) / 2 >= tonumber(ARGV[5]) then return {3, 0} end\n"
                                "  redis.call('HSET', KEYS[1], code, ARGV[4])\n"
                                "  redis.call('HSET', KEYS[2], code, 1)\n"
                                "  return {0, 1}\n"
                                "end\n"
                                "if not cur then return {2, 0} end\n"
                                "if expected > 0 and expected ~= ver then return {4, ver} end\n"
                                "if op == 'update' then\n"
                                "  redis.call('HSET', KEYS[1], code, ARGV[4])\n"
                                "  return {0, redis.call('HINCRBY', KEYS[2], code, 1)}\n"
                                "end\n"
                                "redis.call('HDEL', KEYS[1], code)\n"
                                "redis.call('HDEL', KEYS[2], code)\n"
                                "redis.call('HDEL', KEYS[3], code)\n"
                                "redis.call('HDEL', KEYS[4], code)\n"
                                "return {0, 0}\n";

const char *const *indicators_lua_own(size_t *n)
{
    static const char *const scripts[] = {s_own_lua};
    *n = 1;
    return scripts;
}

static struct redis_script *s_script(indicators_service *svc)
{
    /* registered once per link; the link returns the same script for the same source */
    return redis_link_script(svc->link, s_own_lua);
}

/* ---------- base metrics ---------- */

const char *const ind_base_counts[IND_BASE_COUNTS] = {"teachers", "managers", "staff", "young_teachers",
                                                      "organizations"};

/* "campaign.<code>" or "campaign.<code>.count": the field code into code (false otherwise) */
bool ind_base_campaign_name(const char *id, char *code, size_t size, bool *count)
{
    if (strncmp(id, "campaign.", 9) != 0)
        return false;
    const char *c = id + 9;
    size_t n = strlen(c);
    *count = n > 6 && strcmp(c + n - 6, ".count") == 0;
    if (*count)
        n -= 6;
    if (n == 0 || n >= size || memchr(c, '.', n) != NULL)
        return false;
    memcpy(code, c, n);
    code[n] = '\0';
    return true;
}

/* I<n>.num / I<n>.den: the catalogue index, -1 otherwise; den set for ".den" */
int ind_base_catalogue_name(const char *id, bool *den)
{
    const char *dot = strchr(id, '.');
    if (dot == NULL || (strcmp(dot, ".num") != 0 && strcmp(dot, ".den") != 0))
        return -1;
    char code[8];
    size_t n = (size_t)(dot - id);
    if (n >= sizeof code)
        return -1;
    memcpy(code, id, n);
    code[n] = '\0';
    const indicator_def *d = indicators_find(code);
    if (d == NULL)
        return -1;
    *den = dot[1] == 'd';
    if (*den && !d->share)
        return -2; /* a count has no denominator */
    return (int)(d - indicators_catalogue());
}

/* ---------- definitions ---------- */

void ind_own_set_free(ind_own_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        protobuf_c_message_free_unpacked(&s->items[i].def->base, NULL);
        formula_free(s->items[i].num);
        formula_free(s->items[i].den);
    }
    free(s->items);
    s->items = NULL;
    s->n = 0;
}

static bool s_text(const char *s)
{
    return s && s[0];
}

static int s_cmp_def(const void *a, const void *b)
{
    return strcmp(((const ind_own_def *)a)->def->code, ((const ind_own_def *)b)->def->code);
}

/* The own indicators from HGETALL own (and ownver, may be NULL); a stored one that no longer parses is
 * skipped with a log line. */
void ind_own_set_load(const redisReply *own, const redisReply *ver, ind_own_set *out)
{
    memset(out, 0, sizeof *out);
    if (own == NULL || own->type != REDIS_REPLY_ARRAY)
        return;
    out->items = xcalloc(own->elements / 2 + 1, sizeof *out->items);
    for (size_t i = 0; i + 1 < own->elements; i += 2) {
        const redisReply *k = own->element[i], *v = own->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        Metodnet__Indicator *d = metodnet__indicator__unpack(NULL, v->len, (const uint8_t *)v->str);
        if (d == NULL || !s_text(d->code) || strcmp(d->code, k->str) != 0) {
            if (d)
                protobuf_c_message_free_unpacked(&d->base, NULL);
            log_error(NULL, "собственный показатель %s не читается", k->str);
            continue;
        }
        formula_error err;
        formula *num = formula_parse(d->numerator, strlen(d->numerator), &err);
        formula *den = s_text(d->denominator) ? formula_parse(d->denominator, strlen(d->denominator), &err) : NULL;
        if (num == NULL || (s_text(d->denominator) && den == NULL)) {
            formula_free(num);
            formula_free(den);
            protobuf_c_message_free_unpacked(&d->base, NULL);
            log_error(NULL, "формула собственного показателя %s не разбирается", k->str);
            continue;
        }
        if (ver && ver->type == REDIS_REPLY_ARRAY)
            for (size_t j = 0; j + 1 < ver->elements; j += 2)
                if (ver->element[j]->type == REDIS_REPLY_STRING && ver->element[j + 1]->type == REDIS_REPLY_STRING &&
                    strcmp(ver->element[j]->str, d->code) == 0)
                    d->version = atoll(ver->element[j + 1]->str);
        out->items[out->n++] = (ind_own_def){d, num, den};
    }
    qsort(out->items, out->n, sizeof *out->items, s_cmp_def);
}

const ind_own_def *ind_own_set_find(const ind_own_set *s, const char *code)
{
    for (size_t i = 0; code && i < s->n; i++)
        if (strcmp(s->items[i].def->code, code) == 0)
            return &s->items[i];
    return NULL;
}

/* ---------- the catalogue with own indicators ---------- */

typedef struct {
    indicators_service *svc;
    char region[16];
    Metodnet__ListIndicatorsResponse *resp;
    ind_catalogue_cb cb;
    void *ud;
    int step;
    ind_own_set own;
    char **target_codes;
    double *target_values;
    size_t n_targets;
} catalogue_op;

void ind_catalogue_free(Metodnet__ListIndicatorsResponse *resp)
{
    if (resp)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
}

static void s_catalogue_fail(catalogue_op *o)
{
    o->cb(false, NULL, o->ud);
    ind_own_set_free(&o->own);
    for (size_t i = 0; i < o->n_targets; i++)
        free(o->target_codes[i]);
    free(o->target_codes);
    free(o->target_values);
    free(o);
}

static bool s_target_of(const catalogue_op *o, const char *code, double *t)
{
    for (size_t i = 0; i < o->n_targets; i++)
        if (strcmp(o->target_codes[i], code) == 0) {
            *t = o->target_values[i];
            return true;
        }
    return false;
}

static void s_catalogue_build(catalogue_op *o)
{
    Metodnet__ListIndicatorsResponse *resp = xcalloc(1, sizeof *resp);
    metodnet__list_indicators_response__init(resp);
    resp->items = xcalloc(INDICATORS_COUNT + o->own.n + 1, sizeof *resp->items);
    for (int i = 0; i < INDICATORS_COUNT; i++) {
        const indicator_def *d = &indicators_catalogue()[i];
        Metodnet__Indicator *it = xcalloc(1, sizeof *it);
        metodnet__indicator__init(it);
        it->code = xstrdup(d->code);
        it->name = xstrdup(d->name_ru);
        it->unit = xstrdup(d->share ? "share" : "count");
        it->numerator = xstrdup(d->numerator_ru);
        it->denominator = xstrdup(d->denominator_ru ? d->denominator_ru : "");
        it->by_subject = i == 0;
        it->region_id = xstrdup(o->region);
        it->updated_at = xstrdup("");
        it->updated_by = xstrdup("");
        it->has_target = s_target_of(o, d->code, &it->target);
        resp->items[resp->n_items++] = it;
    }
    for (size_t i = 0; i < o->own.n; i++) {
        Metodnet__Indicator *it = o->own.items[i].def;
        o->own.items[i].def = NULL;
        it->own = true;
        it->has_target = s_target_of(o, it->code, &it->target);
        resp->items[resp->n_items++] = it;
        formula_free(o->own.items[i].num);
        formula_free(o->own.items[i].den);
    }
    free(o->own.items);
    o->own.items = NULL;
    o->own.n = 0;
    o->cb(true, resp, o->ud);
    for (size_t i = 0; i < o->n_targets; i++)
        free(o->target_codes[i]);
    free(o->target_codes);
    free(o->target_values);
    free(o);
}

static void s_catalogue_step(const redisReply *reply, const char *error, void *ud);

static void s_catalogue_versions(const redisReply *reply, const char *error, void *ud)
{
    catalogue_op *o = ud;
    if (error || reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        s_catalogue_fail(o);
        return;
    }
    for (size_t i = 0; i < o->own.n; i++)
        for (size_t j = 0; j + 1 < reply->elements; j += 2)
            if (reply->element[j]->type == REDIS_REPLY_STRING && reply->element[j + 1]->type == REDIS_REPLY_STRING &&
                strcmp(reply->element[j]->str, o->own.items[i].def->code) == 0)
                o->own.items[i].def->version = atoll(reply->element[j + 1]->str);
    s_catalogue_build(o);
}

static void s_catalogue_step(const redisReply *reply, const char *error, void *ud)
{
    catalogue_op *o = ud;
    if (error || reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        s_catalogue_fail(o);
        return;
    }
    if (o->step == 0) {
        /* targets */
        o->target_codes = xcalloc(reply->elements / 2 + 1, sizeof *o->target_codes);
        o->target_values = xcalloc(reply->elements / 2 + 1, sizeof *o->target_values);
        for (size_t i = 0; i + 1 < reply->elements; i += 2)
            if (reply->element[i]->type == REDIS_REPLY_STRING && reply->element[i + 1]->type == REDIS_REPLY_STRING) {
                o->target_codes[o->n_targets] = xstrdup(reply->element[i]->str);
                o->target_values[o->n_targets++] = strtod(reply->element[i + 1]->str, NULL);
            }
        o->step = 1;
        if (redis_link_commandf(o->svc->link, s_catalogue_step, o, "HGETALL ind:{r:%s}:own", o->region) != 0)
            s_catalogue_fail(o);
        return;
    }
    ind_own_set_load(reply, NULL, &o->own);
    if (redis_link_commandf(o->svc->link, s_catalogue_versions, o, "HGETALL ind:{r:%s}:ownver", o->region) != 0)
        s_catalogue_fail(o);
}

void ind_catalogue_load(indicators_service *svc, const char *region, ind_catalogue_cb cb, void *ud)
{
    catalogue_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->cb = cb;
    o->ud = ud;
    snprintf(o->region, sizeof o->region, "%s", region);
    if (redis_link_commandf(svc->link, s_catalogue_step, o, "HGETALL ind:{r:%s}:targets", region) != 0) {
        free(o);
        cb(false, NULL, ud);
    }
}

static void s_catalogue_listed(bool ok, Metodnet__ListIndicatorsResponse *resp, void *ud)
{
    service_call *call = ud;
    if (!ok) {
        service_call_fail(call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        return;
    }
    service_call_reply(call, &resp->base);
    ind_catalogue_free(resp);
}

void ind_catalogue_list(indicators_service *svc, service_call *call, const char *region)
{
    ind_catalogue_load(svc, region, s_catalogue_listed, call);
}

/* ---------- create, update, delete ---------- */

typedef struct {
    indicators_service *svc;
    service_call *call;
    char region[16], code[40], op[8], at[40];
    int64_t expected;
    char *name, *unit, *num, *den, *by;
    char **camp;
    size_t n_camp;
} own_op;

static void s_own_free(own_op *o)
{
    free(o->name);
    free(o->unit);
    free(o->num);
    free(o->den);
    free(o->by);
    for (size_t i = 0; i < o->n_camp; i++)
        free(o->camp[i]);
    free(o->camp);
    free(o);
}

/* The caller's region when they administer it (or a global caller naming one); false: denied. */
static bool s_admin_region(service_call *call, const char *given, char out[16])
{
    const Metodnet__Principal *p = service_call_caller(call);
    const char *r = scope_is_global(p) ? given : p->region_id;
    if (!scope_is_global(p) &&
        !(p->role == METODNET__ROLE__ROLE_REGION_ADMIN && p->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_REGION))
        return false;
    if (!s_text(r) || strlen(r) > 15 || strspn(r, "0123456789") != strlen(r))
        return false;
    if (!scope_is_global(p) && s_text(given) && strcmp(given, r) != 0)
        return false;
    snprintf(out, 16, "%s", r);
    return true;
}

static bool s_code_ok(const char *code)
{
    size_t n = code ? strlen(code) : 0;
    if (n == 0 || n > 32 || !((code[0] >= 'a' && code[0] <= 'z') || (code[0] >= 'A' && code[0] <= 'Z')))
        return false;
    return strspn(code, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

static bool s_catalogue_code(const char *code)
{
    for (int i = 0; i < INDICATORS_COUNT; i++) {
        const char *c = indicators_catalogue()[i].code;
        if (strlen(c) == strlen(code) && (code[0] == 'I' || code[0] == 'i') && strcmp(c + 1, code + 1) == 0)
            return true;
    }
    return false;
}

static void s_add_camp(own_op *o, const char *code)
{
    for (size_t i = 0; i < o->n_camp; i++)
        if (strcmp(o->camp[i], code) == 0)
            return;
    o->camp = xrealloc(o->camp, sizeof *o->camp * (o->n_camp + 1));
    o->camp[o->n_camp++] = xstrdup(code);
}

/* One formula: parsed, every name known (campaign fields collected for the monitoring check). */
static void s_check_formula(own_op *o, validation *v, const char *field, const char *what_ru, const char *text)
{
    formula_error err;
    formula *f = formula_parse(text, strlen(text), &err);
    if (f == NULL) {
        validation_add(v, field, "Ошибка в формуле %s, позиция %zu: %s", what_ru, err.position, err.message);
        return;
    }
    for (size_t i = 0; i < formula_identifier_count(f); i++) {
        const char *id = formula_identifier(f, i);
        bool den = false, count = false;
        char code[48];
        int k = ind_base_catalogue_name(id, &den);
        if (k >= 0)
            continue;
        if (k == -2) {
            validation_add(v, field, "Ошибка в формуле %s: у показателя-количества нет знаменателя («%s»)", what_ru,
                           id);
            continue;
        }
        bool known = false;
        for (size_t c = 0; c < sizeof ind_base_counts / sizeof ind_base_counts[0]; c++)
            if (strcmp(id, ind_base_counts[c]) == 0)
                known = true;
        if (known)
            continue;
        if (ind_base_campaign_name(id, code, sizeof code, &count)) {
            s_add_camp(o, code);
            continue;
        }
        validation_add(v, field,
                       "Ошибка в формуле %s: неизвестный показатель «%s» (доступны I1.num…I13.num, I<n>.den долей, "
                       "teachers, managers, staff, young_teachers, organizations, campaign.<код поля>)",
                       what_ru, id);
    }
    formula_free(f);
}

static void s_own_fail(own_op *o, Metodnet__StatusCode code, const char *message_ru)
{
    service_call_fail(o->call, code, message_ru);
    s_own_free(o);
}

static void s_own_written(const redisReply *reply, const char *error, void *ud)
{
    own_op *o = ud;
    if (error || reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER || reply->element[1]->type != REDIS_REPLY_INTEGER) {
        log_error(service_call_request_id(o->call), "собственный показатель %s не записан: %s", o->code,
                  error ? error : (reply && reply->str ? reply->str : "неожиданный ответ"));
        s_own_fail(o, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        return;
    }
    long long rc = reply->element[0]->integer, version = reply->element[1]->integer;
    char m[200];
    switch (rc) {
    case 0:
        break;
    case 1:
        snprintf(m, sizeof m, "Показатель с кодом %s уже есть в регионе", o->code);
        s_own_fail(o, IND_CODE(CONFLICT), m);
        return;
    case 2:
        snprintf(m, sizeof m, "Собственного показателя %s в регионе нет", o->code);
        s_own_fail(o, IND_CODE(NOT_FOUND), m);
        return;
    case 3:
        snprintf(m, sizeof m, "В регионе уже %d собственных показателей — больше нельзя", IND_OWN_MAX);
        s_own_fail(o, IND_CODE(UNPROCESSABLE), m);
        return;
    default:
        snprintf(m, sizeof m, "Показатель изменён другим пользователем (текущая версия %lld): обновите и повторите",
                 version);
        s_own_fail(o, IND_CODE(VERSION_MISMATCH), m);
        return;
    }
    if (strcmp(o->op, "delete") == 0) {
        Metodnet__DeleteIndicatorResponse r = METODNET__DELETE_INDICATOR_RESPONSE__INIT;
        r.code = o->code;
        service_call_reply(o->call, &r.base);
    } else {
        Metodnet__Indicator d = METODNET__INDICATOR__INIT;
        d.code = o->code;
        d.name = o->name;
        d.unit = o->unit;
        d.numerator = o->num;
        d.denominator = o->den;
        d.own = true;
        d.region_id = o->region;
        d.updated_at = o->at;
        d.updated_by = o->by;
        d.version = version;
        service_call_reply(o->call, &d.base);
    }
    s_own_free(o);
}

static void s_own_write(own_op *o)
{
    Metodnet__Indicator d = METODNET__INDICATOR__INIT;
    d.code = o->code;
    d.name = o->name ? o->name : "";
    d.unit = o->unit ? o->unit : "";
    d.numerator = o->num ? o->num : "";
    d.denominator = o->den ? o->den : "";
    d.own = true;
    d.region_id = o->region;
    d.updated_at = o->at;
    d.updated_by = o->by;
    size_t len = protobuf_c_message_get_packed_size(&d.base);
    uint8_t *buf = xmalloc(len + 1);
    protobuf_c_message_pack(&d.base, buf);
    char own[64], ver[64], targets[64], targetver[64], expected[32], limit[16];
    snprintf(own, sizeof own, "ind:{r:%s}:own", o->region);
    snprintf(ver, sizeof ver, "ind:{r:%s}:ownver", o->region);
    snprintf(targets, sizeof targets, "ind:{r:%s}:targets", o->region);
    snprintf(targetver, sizeof targetver, "ind:{r:%s}:targetver", o->region);
    snprintf(expected, sizeof expected, "%lld", (long long)o->expected);
    snprintf(limit, sizeof limit, "%d", IND_OWN_MAX);
    const char *argv[9] = {own, ver, targets, targetver, o->op, o->code, expected, (const char *)buf, limit};
    size_t argvlen[9];
    for (int i = 0; i < 9; i++)
        argvlen[i] = i == 7 ? len : strlen(argv[i]); /* [7] is the packed message */
    int rc = redis_link_evalsha(o->svc->link, s_script(o->svc), 4, 9, argv, argvlen, s_own_written, o);
    free(buf);
    if (rc != 0)
        s_own_fail(o, IND_CODE(UNAVAILABLE), s_unavailable_ru);
}

/* The campaign fields the formulas name must be numeric fields of some campaign of the region or of a
 * template: asked of the monitoring service. */
static void s_codes_answered(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    own_op *o = ud;
    if (status->code != IND_CODE(OK) || response == NULL) {
        log_error(service_call_request_id(o->call), "мониторинг не ответил: %s",
                  status->message ? status->message : "");
        s_own_fail(o, IND_CODE(UNAVAILABLE),
                   "Служба мониторинга недоступна: формулу с полями кампаний проверить нельзя, повторите позже");
        return;
    }
    const Metodnet__CampaignFiguresResponse *r = (const Metodnet__CampaignFiguresResponse *)response;
    validation v;
    validation_init(&v);
    for (size_t i = 0; i < o->n_camp; i++) {
        bool found = false;
        for (size_t k = 0; k < r->n_numeric_codes && !found; k++)
            found = strcmp(r->numeric_codes[k], o->camp[i]) == 0;
        if (!found)
            validation_add(&v, "numerator",
                           "Неизвестный показатель «campaign.%s»: числового поля %s нет ни в одной кампании "
                           "мониторинга региона, ни в шаблонах форм",
                           o->camp[i], o->camp[i]);
    }
    if (v.n > 0) {
        service_call_fail_validation(o->call, &v);
        validation_free(&v);
        s_own_free(o);
        return;
    }
    validation_free(&v);
    s_own_write(o);
}

static void s_own_checked(own_op *o)
{
    if (o->n_camp == 0) {
        s_own_write(o);
        return;
    }
    Metodnet__CampaignFiguresRequest q = METODNET__CAMPAIGN_FIGURES_REQUEST__INIT;
    q.region_id = o->region;
    q.period_start = "1900-01-01"; /* no campaign ends then: the field codes only */
    q.period_end = "1900-01-01";
    service_client_request r = {.service = "monitoring",
                                .method = "CampaignFigures",
                                .request = &q.base,
                                .response = &metodnet__campaign_figures_response__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(o->call),
                                .timeout_ms = 5000};
    if (service_client_call(o->svc->broker, &r, s_codes_answered, o) != 0)
        s_own_fail(o, IND_CODE(UNAVAILABLE), "Служба мониторинга недоступна, повторите позже");
}

static own_op *s_own_new(indicators_service *svc, service_call *call, const char *op, const char *given_region)
{
    char region[16];
    if (!s_admin_region(call, given_region, region)) {
        service_call_fail(call, IND_CODE(PERMISSION_DENIED), "Собственные показатели задаёт администратор региона");
        return NULL;
    }
    own_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    snprintf(o->region, sizeof o->region, "%s", region);
    snprintf(o->op, sizeof o->op, "%s", op);
    clock_rfc3339(clock_unix_ms(), o->at, sizeof o->at);
    const Metodnet__Principal *p = service_call_caller(call);
    o->by = xstrdup(p->user_id ? p->user_id : "");
    return o;
}

/* Validates the body into o (create and update); false: answered. */
static bool s_own_body(own_op *o, const Metodnet__Indicator *in, bool create)
{
    validation v;
    validation_init(&v);
    if (in == NULL) {
        validation_add(&v, "", "Нужно тело: {code, name, numerator, denominator, unit}");
    } else {
        if (create) {
            if (!s_code_ok(in->code))
                validation_add(&v, "code", "Код: латинская буква, затем латинские буквы, цифры или «_», до 32 знаков");
            else if (s_catalogue_code(in->code))
                validation_add(&v, "code", "Код %s занят каталогом (I1…I13): выберите другой", in->code);
            else
                snprintf(o->code, sizeof o->code, "%s", in->code);
        } else if (s_text(in->code) && strcmp(in->code, o->code) != 0) {
            validation_add(&v, "code", "Код показателя не меняется (в пути — %s)", o->code);
        }
        validate_text(&v, "name", in->name, 300, true);
        const char *unit = s_text(in->unit) ? in->unit : "";
        bool share = strcmp(unit, "share") == 0, count = strcmp(unit, "count") == 0,
             number = strcmp(unit, "number") == 0;
        if (!share && !count && !number)
            validation_add(&v, "unit", "Единица: share (доля, %%), count (количество) или number (число)");
        const char *num = in->numerator ? in->numerator : "", *den = in->denominator ? in->denominator : "";
        s_check_formula(o, &v, "numerator", "числителя", num);
        if (share && !s_text(den))
            validation_add(&v, "denominator", "У доли нужен знаменатель");
        else if (count && s_text(den))
            validation_add(&v, "denominator", "У количества нет знаменателя: оставьте поле пустым");
        else if (s_text(den))
            s_check_formula(o, &v, "denominator", "знаменателя", den);
        o->name = xstrdup(in->name ? in->name : "");
        o->unit = xstrdup(unit);
        o->num = xstrdup(num);
        o->den = xstrdup(den);
    }
    if (v.n > 0) {
        service_call_fail_validation(o->call, &v);
        validation_free(&v);
        s_own_free(o);
        return false;
    }
    validation_free(&v);
    return true;
}

void ind_own_create(indicators_service *svc, service_call *call, const Metodnet__CreateIndicatorRequest *req)
{
    own_op *o = s_own_new(svc, call, "create",
                          s_text(req->region_id) ? req->region_id
                          : req->indicator       ? req->indicator->region_id
                                                 : NULL);
    if (o && s_own_body(o, req->indicator, true))
        s_own_checked(o);
}

static bool s_path_code(own_op *o, const char *code)
{
    if (!s_code_ok(code) || s_catalogue_code(code)) {
        char m[160];
        snprintf(m, sizeof m, "Собственного показателя %.40s в регионе нет", code ? code : "");
        s_own_fail(o, IND_CODE(NOT_FOUND), m);
        return false;
    }
    snprintf(o->code, sizeof o->code, "%s", code);
    return true;
}

void ind_own_update(indicators_service *svc, service_call *call, const Metodnet__UpdateIndicatorRequest *req)
{
    own_op *o = s_own_new(svc, call, "update",
                          s_text(req->region_id) ? req->region_id
                          : req->indicator       ? req->indicator->region_id
                                                 : NULL);
    if (o == NULL || !s_path_code(o, req->code))
        return;
    o->expected = req->expected_version;
    if (s_own_body(o, req->indicator, false))
        s_own_checked(o);
}

void ind_own_delete(indicators_service *svc, service_call *call, const Metodnet__DeleteIndicatorRequest *req)
{
    own_op *o = s_own_new(svc, call, "delete", req->region_id);
    if (o == NULL || !s_path_code(o, req->code))
        return;
    o->expected = req->expected_version;
    s_own_write(o);
}

/* ---------- targets of own indicators ---------- */

typedef struct {
    indicators_service *svc;
    service_call *call;
    char region[16], code[40];
    double target;
} own_target_op;

static void s_target_def(const redisReply *reply, const char *error, void *ud)
{
    own_target_op *o = ud;
    if (error || reply == NULL || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL)) {
        service_call_fail(o->call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        free(o);
        return;
    }
    Metodnet__Indicator *d = reply->type == REDIS_REPLY_STRING
                                 ? metodnet__indicator__unpack(NULL, reply->len, (const uint8_t *)reply->str)
                                 : NULL;
    validation v;
    validation_init(&v);
    if (d == NULL)
        validation_add(&v, "indicator", "Нет такого показателя: %s (I1…I13 или собственный показатель региона)",
                       o->code);
    else if (strcmp(d->unit, "share") == 0 && !(o->target >= 0 && o->target <= 100))
        validation_add(&v, "target", "Цель доли — от 0 до 100 %%");
    else if (strcmp(d->unit, "share") != 0 && !(o->target >= -1e12 && o->target <= 1e12))
        validation_add(&v, "target", "Цель — число от −10^12 до 10^12");
    if (d)
        protobuf_c_message_free_unpacked(&d->base, NULL);
    if (v.n > 0) {
        service_call_fail_validation(o->call, &v);
        validation_free(&v);
        free(o);
        return;
    }
    validation_free(&v);
    ind_target_store(o->svc, o->call, o->region, o->code, o->target);
    free(o);
}

void ind_own_target(indicators_service *svc, service_call *call, const char *region,
                    const Metodnet__SetIndicatorTargetRequest *req)
{
    if (!s_code_ok(req->indicator)) {
        validation v;
        validation_init(&v);
        validation_add(&v, "indicator", "Нет такого показателя (I1…I13 или собственный показатель региона)");
        service_call_fail_validation(call, &v);
        validation_free(&v);
        return;
    }
    own_target_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    o->target = req->target;
    snprintf(o->region, sizeof o->region, "%s", region);
    snprintf(o->code, sizeof o->code, "%s", req->indicator);
    if (redis_link_commandf(svc->link, s_target_def, o, "HGET ind:{r:%s}:own %s", region, o->code) != 0) {
        service_call_fail(call, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        free(o);
    }
}
