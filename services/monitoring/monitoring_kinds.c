/* monitoring_kinds — the campaign kind on the entity engine (form, scope, period, deadline; open, close
 * and reopen as its transitions), who may manage, review and fill in what, the checks of a report's
 * values by field type, and the shipped form templates (the seeds' qualitative criteria: 003 §6 and
 * 004 §3.1, as expert-assessed fields).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "monitoring_internal.h"
#include "pbjson.h"
#include "xalloc.h"

const char *const monitoring_unavailable_ru = "Служба мониторинга временно недоступна, повторите запрос позже";

bool mon_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

bool mon_eq(const char *a, const char *b)
{
    return mon_set(a) && mon_set(b) && strcmp(a, b) == 0;
}

void mon_replace(char **slot, const char *value)
{
    char *copy = xstrdup(value ? value : "");
    if (*slot != NULL && *slot != protobuf_c_empty_string)
        free(*slot);
    *slot = copy;
}

void mon_key(char *out, size_t size, const char *region, const char *what, const char *id)
{
    snprintf(out, size, "mon:{r:%s}:%s:%s", region, what, id);
}

/* ---------- who may do what ---------- */

bool monitoring_manages(const Metodnet__Principal *caller, const char *region, const char *municipality)
{
    if (scope_is_global(caller))
        return true;
    if (caller == NULL || !mon_eq(caller->region_id, region))
        return false;
    if (caller->role == METODNET__ROLE__ROLE_REGION_ADMIN &&
        caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_REGION)
        return true;
    return mon_set(municipality) &&
           (caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST ||
            caller->role == METODNET__ROLE__ROLE_REGION_ADMIN) &&
           caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY &&
           mon_eq(caller->scope_id, municipality);
}

bool monitoring_reviews(const Metodnet__Principal *caller, const char *region, const char *municipality)
{
    return monitoring_manages(caller, region, mon_set(municipality) ? municipality : "-");
}

bool monitoring_reports_for(const Metodnet__Principal *caller, const char *region, const char *organization)
{
    if (scope_is_global(caller))
        return true;
    return caller != NULL && caller->role == METODNET__ROLE__ROLE_SCHOOL_ADMIN &&
           caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION && mon_eq(caller->region_id, region) &&
           mon_eq(caller->scope_id, organization);
}

/* ---------- the form ---------- */

static bool s_code_ok(const char *code)
{
    size_t n = code ? strlen(code) : 0;
    if (n == 0 || n > 40)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)code[i]) || isdigit((unsigned char)code[i]) || code[i] == '_'))
            return false;
    return true;
}

static void s_check_field(validation *v, size_t i, const Metodnet__FormField *f)
{
    char path[64];
    snprintf(path, sizeof path, "fields[%zu].code", i);
    if (!s_code_ok(f->code))
        validation_add(v, path, "Код поля: 1–40 символов из строчных латинских букв, цифр и «_»");
    snprintf(path, sizeof path, "fields[%zu].title", i);
    validate_text(v, path, f->title, 300, true);
    snprintf(path, sizeof path, "fields[%zu].hint", i);
    validate_text(v, path, f->hint, 1000, false);
    snprintf(path, sizeof path, "fields[%zu].source", i);
    validate_text(v, path, f->source, 300, false);
    snprintf(path, sizeof path, "fields[%zu]", i);
    switch (f->type) {
    case METODNET__FIELD_TYPE__FIELD_TYPE_NUMBER:
        if (!isfinite(f->min) || !isfinite(f->max) || f->min > f->max)
            validation_add(v, path, "Границы числа: min не больше max (0 и 0 — без границ)");
        break;
    case METODNET__FIELD_TYPE__FIELD_TYPE_SHARE:
    case METODNET__FIELD_TYPE__FIELD_TYPE_TEXT:
        break;
    case METODNET__FIELD_TYPE__FIELD_TYPE_CHOICE:
        if (f->n_options < 2 || f->n_options > MON_MAX_OPTIONS)
            validation_add(v, path, "У поля выбора от 2 до %d вариантов (options)", MON_MAX_OPTIONS);
        for (size_t k = 0; k < f->n_options; k++) {
            char opath[80];
            snprintf(opath, sizeof opath, "fields[%zu].options[%zu]", i, k);
            validate_text(v, opath, f->options[k], 200, true);
            for (size_t j = 0; j < k; j++)
                if (strcmp(f->options[j], f->options[k]) == 0)
                    validation_add(v, opath, "Вариант повторяется");
        }
        break;
    case METODNET__FIELD_TYPE__FIELD_TYPE_EXPERT_SCORE:
        if (f->max_score < 1 || f->max_score > 10)
            validation_add(v, path, "Экспертная оценка: maxScore от 1 до 10");
        break;
    default:
        validation_add(v, path, "Тип поля: number, share, text, choice или expert_score");
    }
}

static bool s_period_ok(const char *p)
{
    int a = 0, b = 0;
    char tail = 0;
    if (p == NULL)
        return false;
    if (strlen(p) == 4 && sscanf(p, "%4d%c", &a, &tail) == 1)
        return a >= 2000 && a <= 2100;
    if (strlen(p) == 7 && p[4] == '/' && sscanf(p, "%4d/%2d%c", &a, &b, &tail) == 2)
        return a >= 2000 && a <= 2100 && b == (a + 1) % 100;
    return false;
}

static void s_campaign_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__MonitoringCampaign *c = (const Metodnet__MonitoringCampaign *)msg;
    validate_id(v, "regionId", c->region_id, true);
    validate_id(v, "municipalityId", c->municipality_id, false);
    validate_text(v, "title", c->title, 300, true);
    if (!s_period_ok(c->period))
        validation_add(v, "period", "Период: учебный год «2025/26» или календарный год «2026»");
    int64_t ms = 0;
    if (!clock_parse_rfc3339(c->deadline, &ms))
        validation_add(v, "deadline", "Срок сдачи — дата и время RFC 3339, например 2026-05-31T23:59:59Z");
    validate_text(v, "organizationKind", c->organization_kind, 64, false);
    if (mon_set(c->template_) && !monitoring_apply_template(NULL, c->template_))
        validation_add(v, "template", "Такого шаблона формы нет (см. GET /api/v1/monitoring/form-templates)");
    if (c->n_fields > MON_MAX_FIELDS)
        validation_add(v, "fields", "В форме не больше %d полей", MON_MAX_FIELDS);
    for (size_t i = 0; i < c->n_fields && i < MON_MAX_FIELDS; i++) {
        s_check_field(v, i, c->fields[i]);
        for (size_t j = 0; j < i; j++)
            if (mon_eq(c->fields[i]->code, c->fields[j]->code)) {
                char path[64];
                snprintf(path, sizeof path, "fields[%zu].code", i);
                validation_add(v, path, "Код поля «%s» уже есть в форме", c->fields[i]->code);
            }
    }
}

/* ---------- values of a report ---------- */

static const Metodnet__FormField *s_field(const Metodnet__MonitoringCampaign *c, const char *code)
{
    for (size_t i = 0; i < c->n_fields; i++)
        if (mon_eq(c->fields[i]->code, code))
            return c->fields[i];
    return NULL;
}

static bool s_number(const char *text, double *out)
{
    char buf[64];
    size_t n = strlen(text);
    if (n == 0 || n >= sizeof buf)
        return false;
    for (size_t i = 0; i <= n; i++)
        buf[i] = text[i] == ',' ? '.' : text[i];
    char *end = NULL;
    double d = strtod(buf, &end);
    if (end == buf || *end != '\0' || !isfinite(d) || isspace((unsigned char)buf[0]))
        return false;
    *out = d;
    return true;
}

static void s_check_value(validation *v, size_t i, const Metodnet__FormField *f, const Metodnet__FieldValue *x)
{
    char path[64], epath[64];
    snprintf(path, sizeof path, "values[%zu].value", i);
    snprintf(epath, sizeof epath, "values[%zu].evidence", i);
    const char *val = x->value ? x->value : "";
    if (!utf8_valid(val, strlen(val)) ||
        !utf8_valid(x->evidence ? x->evidence : "", strlen(x->evidence ? x->evidence : ""))) {
        validation_add(v, path, "«%s»: текст не в UTF-8", f->title);
        return;
    }
    if (mon_set(x->evidence) && utf8_length(x->evidence) > MON_MAX_TEXT)
        validation_add(v, epath, "«%s»: подтверждение длиннее %d символов", f->title, MON_MAX_TEXT);
    if (!mon_set(val)) {
        if (mon_set(x->evidence) && f->type != METODNET__FIELD_TYPE__FIELD_TYPE_EXPERT_SCORE)
            validation_add(v, epath, "«%s»: подтверждение прикладывается только к экспертной оценке", f->title);
        return;
    }
    double d = 0;
    switch (f->type) {
    case METODNET__FIELD_TYPE__FIELD_TYPE_NUMBER:
        if (!s_number(val, &d))
            validation_add(v, path, "«%s»: введите число", f->title);
        else if (f->min < f->max && (d < f->min || d > f->max))
            validation_add(v, path, "«%s»: число от %g до %g", f->title, f->min, f->max);
        break;
    case METODNET__FIELD_TYPE__FIELD_TYPE_SHARE:
        if (!s_number(val, &d))
            validation_add(v, path, "«%s»: введите долю в процентах (число)", f->title);
        else if (d < 0 || d > 100)
            validation_add(v, path, "«%s»: доля — от 0 до 100 %%", f->title);
        break;
    case METODNET__FIELD_TYPE__FIELD_TYPE_TEXT:
        if (utf8_length(val) > MON_MAX_TEXT)
            validation_add(v, path, "«%s»: не длиннее %d символов", f->title, MON_MAX_TEXT);
        break;
    case METODNET__FIELD_TYPE__FIELD_TYPE_CHOICE: {
        bool found = false;
        for (size_t k = 0; k < f->n_options && !found; k++)
            found = strcmp(f->options[k], val) == 0;
        if (!found)
            validation_add(v, path, "«%s»: выберите один из вариантов формы", f->title);
        break;
    }
    case METODNET__FIELD_TYPE__FIELD_TYPE_EXPERT_SCORE: {
        char *end = NULL;
        long score = strtol(val, &end, 10);
        if (end == val || *end != '\0' || score < 0 || score > f->max_score)
            validation_add(v, path, "«%s»: оценка — целое число от 0 до %d", f->title, f->max_score);
        if (!mon_set(x->evidence))
            validation_add(v, epath, "«%s»: экспертная оценка требует подтверждения (текст или ссылка)", f->title);
        break;
    }
    default:
        break;
    }
    if (f->type != METODNET__FIELD_TYPE__FIELD_TYPE_EXPERT_SCORE && mon_set(x->evidence))
        validation_add(v, epath, "«%s»: подтверждение прикладывается только к экспертной оценке", f->title);
}

void monitoring_check_values(const Metodnet__MonitoringCampaign *c, Metodnet__FieldValue *const *values,
                             size_t n_values, validation *v, char ***missing, size_t *n_missing)
{
    *missing = NULL;
    *n_missing = 0;
    if (n_values > MON_MAX_FIELDS) {
        validation_add(v, "values", "Значений больше, чем полей в форме");
        return;
    }
    for (size_t i = 0; i < n_values; i++) {
        const Metodnet__FieldValue *x = values[i];
        char path[64];
        snprintf(path, sizeof path, "values[%zu].code", i);
        const Metodnet__FormField *f = s_field(c, x->code);
        if (f == NULL) {
            validation_add(v, path, "Поля «%s» нет в форме кампании", mon_set(x->code) ? x->code : "");
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (mon_eq(values[j]->code, x->code))
                validation_add(v, path, "«%s»: значение указано дважды", f->title);
        s_check_value(v, i, f, x);
    }
    for (size_t k = 0; k < c->n_fields; k++) {
        const Metodnet__FormField *f = c->fields[k];
        if (!f->required)
            continue;
        bool filled = false;
        for (size_t i = 0; i < n_values && !filled; i++)
            filled = mon_eq(values[i]->code, f->code) && mon_set(values[i]->value);
        if (!filled) {
            *missing = xrealloc(*missing, sizeof **missing * (*n_missing + 1));
            (*missing)[(*n_missing)++] = xstrdup(f->code);
        }
    }
}

/* ---------- templates ---------- */

typedef struct {
    const char *code, *title, *source;
} s_criterion;

/* 003 §6: the indicators of the effectiveness of methodical work (expert assessment). */
static const s_criterion s_methodical[] = {
    {"specifics", "Соответствие содержания и организации методической работы специфике образовательной организации",
     "003 §6"},
    {"contests", "Организация и результативность участия педагогов в конкурсах профессионального мастерства", "003 §6"},
    {"young_teachers", "Организация системы поддержки молодых педагогов и/или системы наставничества", "003 §6"},
    {"communities", "Сопровождение деятельности профессиональных сообществ", "003 §6"},
    {"consulting", "Методическая и консультативная помощь педагогам по вопросам профессиональной деятельности",
     "003 §6"},
    {"deficits", "Изучение профессиональных потребностей и дефицитов работников", "003 §6"},
    {"practices", "Условия для обобщения и трансляции лучших образовательных практик", "003 §6"},
};

/* 004 §3.1: the effectiveness of school heads. */
static const s_criterion s_heads[] = {
    {"head_training", "Базовая подготовка руководителя", "004 §3.1"},
    {"head_objectivity", "Объективность результатов внешней оценки", "004 §3.1"},
    {"head_conditions", "Условия осуществления образовательной деятельности", "004 §3.1"},
    {"head_reserve", "Формирование кадрового резерва", "004 §3.1"},
    {"head_management", "Квалификация в области управления", "004 §3.1"},
    {"head_recommendations", "Наличие адресных рекомендаций по результатам анализа и мер по их выполнению", "004 §3.1"},
};

typedef struct {
    const char *code, *title;
    const s_criterion *items;
    size_t n;
} s_template;

static const s_template s_templates[] = {
    {"school-heads", "Эффективность руководителей образовательных организаций (экспертная оценка, 004 §3.1)", s_heads,
     sizeof s_heads / sizeof s_heads[0]},
    {"methodical-work", "Эффективность методической работы в организации (экспертная оценка, 003 §6)", s_methodical,
     sizeof s_methodical / sizeof s_methodical[0]},
};

#define S_MAX_SCORE 3

static Metodnet__FormField *s_template_field(const s_criterion *k)
{
    Metodnet__FormField *f = xmalloc(sizeof *f);
    metodnet__form_field__init(f);
    f->code = xstrdup(k->code);
    f->title = xstrdup(k->title);
    f->type = METODNET__FIELD_TYPE__FIELD_TYPE_EXPERT_SCORE;
    f->required = true;
    f->max_score = S_MAX_SCORE;
    f->hint = xstrdup("0 — не выполняется, 1 — частично, 2 — в основном, 3 — полностью; подтверждение: документ, "
                      "ссылка или описание");
    f->source = xstrdup(k->source);
    return f;
}

static const s_template *s_template_find(const char *code)
{
    for (size_t i = 0; i < sizeof s_templates / sizeof s_templates[0]; i++)
        if (mon_eq(s_templates[i].code, code))
            return &s_templates[i];
    return NULL;
}

bool monitoring_apply_template(Metodnet__MonitoringCampaign *c, const char *code)
{
    const s_template *t = s_template_find(code);
    if (t == NULL)
        return false;
    if (c == NULL)
        return true;
    for (size_t i = 0; i < c->n_fields; i++)
        protobuf_c_message_free_unpacked(&c->fields[i]->base, NULL);
    free(c->fields);
    c->fields = xmalloc(sizeof *c->fields * t->n);
    c->n_fields = t->n;
    for (size_t i = 0; i < t->n; i++)
        c->fields[i] = s_template_field(&t->items[i]);
    return true;
}

void monitoring_templates(Metodnet__ListFormTemplatesResponse *out)
{
    size_t n = sizeof s_templates / sizeof s_templates[0];
    out->items = xmalloc(sizeof *out->items * n);
    out->n_items = n;
    for (size_t i = 0; i < n; i++) {
        Metodnet__FormTemplate *t = xmalloc(sizeof *t);
        metodnet__form_template__init(t);
        t->code = (char *)s_templates[i].code;
        t->title = (char *)s_templates[i].title;
        t->fields = xmalloc(sizeof *t->fields * s_templates[i].n);
        t->n_fields = s_templates[i].n;
        for (size_t k = 0; k < t->n_fields; k++)
            t->fields[k] = s_template_field(&s_templates[i].items[k]);
        out->items[i] = t;
    }
}

void monitoring_templates_free(Metodnet__ListFormTemplatesResponse *out)
{
    for (size_t i = 0; i < out->n_items; i++) {
        for (size_t k = 0; k < out->items[i]->n_fields; k++)
            protobuf_c_message_free_unpacked(&out->items[i]->fields[k]->base, NULL);
        free(out->items[i]->fields);
        free(out->items[i]);
    }
    free(out->items);
}

/* ---------- the campaign kind ---------- */

static const char *const s_immutable[] = {
    "id",        "region_id", "municipality_id", "status",     "reopened",   "required_count", "snapshot_version",
    "opened_at", "closed_at", "version",         "created_at", "updated_at", "template",       NULL};
static const char *const s_region_fields[] = {"municipality_id", "region_id", NULL};

static void s_territory(const ProtobufCMessage *msg, entity_territory *out)
{
    const Metodnet__MonitoringCampaign *c = (const Metodnet__MonitoringCampaign *)msg;
    memset(out, 0, sizeof *out);
    out->object.region_id = c->region_id;
    if (mon_set(c->municipality_id)) {
        out->municipalities[0] = c->municipality_id;
        out->object.municipality_ids = out->municipalities;
        out->object.n_municipalities = 1;
    }
}

static bool s_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    const Metodnet__MonitoringCampaign *c = (const Metodnet__MonitoringCampaign *)msg;
    if (monitoring_manages(caller, c->region_id, c->municipality_id))
        return true;
    if (access != SCOPE_READ || caller == NULL || caller->role == METODNET__ROLE__ROLE_UNSPECIFIED ||
        caller->role == METODNET__ROLE__ROLE_TEACHER || !mon_eq(caller->region_id, c->region_id))
        return false;
    if (!mon_set(c->municipality_id) || caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_REGION)
        return true;
    if (caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY)
        return mon_eq(caller->scope_id, c->municipality_id);
    return mon_eq(caller->municipality_id, c->municipality_id);
}

static void s_layout(const ProtobufCMessage *msg, entity_layout *out)
{
    const Metodnet__MonitoringCampaign *c = (const Metodnet__MonitoringCampaign *)msg;
    char text[400], member[480];
    snprintf(text, sizeof text, "%s %s", c->period ? c->period : "", c->title ? c->title : "");
    entity_layout_sort_member(member, sizeof member, text, c->id);
    entity_layout_index(out, member, "mon:{r:%s}:ix:campaign", c->region_id);
    entity_layout_token(out, "mun", mon_set(c->municipality_id) ? c->municipality_id : "-");
    entity_layout_token(out, "st", pbjson_enum_word(&metodnet__monitoring_campaign_status__descriptor, c->status));
    entity_layout_token(out, "period", c->period);
    /* read by the report scripts: the state and the deadline */
    entity_layout_token(out, "due", c->deadline);
    entity_layout_token(out, "ro", c->reopened ? "1" : "0");
}

/* The deadline as clock_rfc3339 writes it ("…T23:59:59.000Z"): the report scripts compare it with "now"
 * in the same fixed-width UTC form as text. Unreadable: left for the validation to name. */
static void s_normalize_deadline(char **deadline)
{
    int64_t ms = 0;
    char buf[40];
    if (clock_parse_rfc3339(*deadline, &ms))
        mon_replace(deadline, clock_rfc3339(ms, buf, sizeof buf));
}

static void s_on_update(const ProtobufCMessage *current, ProtobufCMessage *next, const Metodnet__Principal *caller,
                        const char *now, validation *v)
{
    (void)current, (void)caller, (void)now, (void)v;
    s_normalize_deadline(&((Metodnet__MonitoringCampaign *)next)->deadline);
}

static void s_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__MonitoringCampaign *c = (Metodnet__MonitoringCampaign *)msg;
    c->status = METODNET__MONITORING_CAMPAIGN_STATUS__MONITORING_CAMPAIGN_STATUS_DRAFT;
    c->reopened = false;
    c->required_count = 0;
    c->snapshot_version = 0;
    mon_replace(&c->opened_at, "");
    mon_replace(&c->closed_at, "");
    s_normalize_deadline(&c->deadline);
    if (mon_set(c->template_) && c->n_fields == 0)
        monitoring_apply_template(c, c->template_);
}

static const char *s_update_conflict(const ProtobufCMessage *current)
{
    const Metodnet__MonitoringCampaign *c = (const Metodnet__MonitoringCampaign *)current;
    return c->status == METODNET__MONITORING_CAMPAIGN_STATUS__MONITORING_CAMPAIGN_STATUS_DRAFT
               ? NULL
               : "Кампания уже открыта: форму, охват и срок не меняют (новый срок задаётся при повторном открытии)";
}

static entity_transition_result s_transition(const ProtobufCMessage *request, ProtobufCMessage *next,
                                             const Metodnet__Principal *caller, const char *now, validation *v,
                                             const char **conflict_ru)
{
    const Metodnet__MonitoringCampaignActionRequest *r = (const Metodnet__MonitoringCampaignActionRequest *)request;
    Metodnet__MonitoringCampaign *c = (Metodnet__MonitoringCampaign *)next;
    (void)caller;
    int64_t deadline = 0, now_ms = clock_unix_ms();
    const char *action = r->action ? r->action : "";
    if (strcmp(action, "open") == 0) {
        if (c->status != METODNET__MONITORING_CAMPAIGN_STATUS__MONITORING_CAMPAIGN_STATUS_DRAFT) {
            *conflict_ru = "Кампания уже открыта (закрытую открывают повторно: reopen)";
            return ENTITY_TRANSITION_CONFLICT;
        }
        if (c->n_fields == 0)
            validation_add(v, "fields", "В форме нет ни одного поля");
        if (clock_parse_rfc3339(c->deadline, &deadline) && deadline <= now_ms)
            validation_add(v, "deadline", "Срок сдачи уже прошёл: задайте срок в будущем");
        if (r->required_count <= 0)
            validation_add(v, "organizationKind", "В охвате кампании нет ни одной организации");
        if (!validation_ok(v))
            return ENTITY_TRANSITION_INVALID;
        c->status = METODNET__MONITORING_CAMPAIGN_STATUS__MONITORING_CAMPAIGN_STATUS_OPEN;
        c->required_count = r->required_count;
        mon_replace(&c->opened_at, now);
        return ENTITY_TRANSITION_OK;
    }
    if (strcmp(action, "close") == 0) {
        if (c->status != METODNET__MONITORING_CAMPAIGN_STATUS__MONITORING_CAMPAIGN_STATUS_OPEN) {
            *conflict_ru = "Закрыть можно только открытую кампанию";
            return ENTITY_TRANSITION_CONFLICT;
        }
        c->status = METODNET__MONITORING_CAMPAIGN_STATUS__MONITORING_CAMPAIGN_STATUS_CLOSED;
        c->snapshot_version += 1;
        mon_replace(&c->closed_at, now);
        return ENTITY_TRANSITION_OK;
    }
    if (strcmp(action, "reopen") == 0) {
        if (c->status != METODNET__MONITORING_CAMPAIGN_STATUS__MONITORING_CAMPAIGN_STATUS_CLOSED) {
            *conflict_ru = "Повторно открыть можно только закрытую кампанию";
            return ENTITY_TRANSITION_CONFLICT;
        }
        if (mon_set(r->deadline)) {
            if (!clock_parse_rfc3339(r->deadline, &deadline)) {
                validation_add(v, "deadline", "Срок сдачи — дата и время RFC 3339, например 2026-06-15T23:59:59Z");
                return ENTITY_TRANSITION_INVALID;
            }
            mon_replace(&c->deadline, r->deadline);
            s_normalize_deadline(&c->deadline);
        }
        c->status = METODNET__MONITORING_CAMPAIGN_STATUS__MONITORING_CAMPAIGN_STATUS_OPEN;
        c->reopened = true;
        return ENTITY_TRANSITION_OK;
    }
    *conflict_ru = "Неизвестное действие с кампанией";
    return ENTITY_TRANSITION_CONFLICT;
}

static const char *s_event_type(const ProtobufCMessage *current, const ProtobufCMessage *next)
{
    const Metodnet__MonitoringCampaign *cur = (const Metodnet__MonitoringCampaign *)current,
                                       *nxt = (const Metodnet__MonitoringCampaign *)next;
    if (cur == NULL)
        return "campaign.created";
    if (nxt == NULL)
        return "campaign.deleted";
    if (cur->status != nxt->status)
        return nxt->status == METODNET__MONITORING_CAMPAIGN_STATUS__MONITORING_CAMPAIGN_STATUS_CLOSED
                   ? "campaign.closed"
               : cur->status == METODNET__MONITORING_CAMPAIGN_STATUS__MONITORING_CAMPAIGN_STATUS_DRAFT
                   ? "campaign.opened"
                   : "campaign.reopened";
    return "campaign.updated";
}

static const entity_filter s_filters[] = {
    {.field = "municipality_id", .token = "mun", .check = ENTITY_FILTER_ID},
    {.field = "status",
     .token = "st",
     .words = &metodnet__monitoring_campaign_status__descriptor,
     .check = ENTITY_FILTER_ENUM},
    {.field = "period", .token = "period", .check = ENTITY_FILTER_CUSTOM, .valid = s_period_ok},
};

const entity_kind monitoring_campaign_kind = {
    .prefix = "mon",
    .name = "campaign",
    .audit_name = "monitoring_campaign",
    .id_letter = 'c',
    .region_fields = s_region_fields,
    .filters = s_filters,
    .n_filters = sizeof s_filters / sizeof s_filters[0],
    .json_field = "campaign",
    .descriptor = &metodnet__monitoring_campaign__descriptor,
    .not_found_ru = "Кампания мониторинга не найдена",
    .exists_ru = "Кампания мониторинга уже существует",
    .not_empty_ru = "У кампании есть отчёты",
    .immutable = s_immutable,
    .validate = s_campaign_validate,
    .territory = s_territory,
    .layout = s_layout,
    .allows = s_allows,
    .list_unnarrowed = true,
    .transition = s_transition,
    .on_create = s_on_create,
    .update_conflict = s_update_conflict,
    .on_update = s_on_update,
    .event_type = s_event_type,
    .stored = monitoring_campaign_stored,
};
