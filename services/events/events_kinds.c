/* events_kinds — the events service's kinds on the entity engine: the yearly plan of events (draft →
 * approved, a change after approval is a revision with its reason), the event (draft → published →
 * cancelled | finished) and the registration (read and listed here, written by the flows of
 * events_registrations.c). Validation, territory, scope, layout, filters and DomainEvent types.
 *
 * Scope: what lives at a home (a school, a municipality, the region) is written by its organizers (the
 * school's administrators; the municipality's methodologists; the region's administrators). A draft is
 * read by them only; a published (cancelled, finished) event or an approved plan by everyone of the
 * home's municipality (a regional one: of the region) — teachers included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dictionary.h"
#include "events_internal.h"
#include "pbfield.h"
#include "pbjson.h"
#include "xalloc.h"

const char *const events_unavailable_ru = "Хранилище временно недоступно, повторите запрос позже";
const char *const events_denied_ru = "Недостаточно прав для этого действия с этой записью";

bool events_set(const char *s)
{
    return s != NULL && *s != '\0';
}

bool events_eq(const char *a, const char *b)
{
    return events_set(a) && events_set(b) && strcmp(a, b) == 0;
}

void events_replace(char **slot, const char *value)
{
    char *copy = xstrdup(value ? value : "");
    if (*slot != NULL && *slot != protobuf_c_empty_string)
        free(*slot);
    *slot = copy;
}

#define FILTERS(table) .filters = table, .n_filters = sizeof table / sizeof table[0]
#define INDEXES(table) .list_indexes = table, .n_list_indexes = sizeof table / sizeof table[0]

/* ---------- homes and scope ---------- */

static void s_home_territory(const events_home *h, entity_territory *out)
{
    memset(out, 0, sizeof *out);
    out->object.region_id = h->region_id;
    if (h->level == METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL)
        return;
    out->municipalities[0] = h->municipality_id;
    out->object.municipality_ids = out->municipalities;
    out->object.n_municipalities = 1;
    if (h->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL) {
        out->organizations[0] = h->organization_id;
        out->object.organization_ids = out->organizations;
        out->object.n_organizations = 1;
    }
}

bool events_home_writable(const Metodnet__Principal *caller, const events_home *h)
{
    if (scope_is_global(caller))
        return true;
    if (caller == NULL || h->level == METODNET__HOME_LEVEL__HOME_LEVEL_UNSPECIFIED)
        return false;
    entity_territory t;
    s_home_territory(h, &t);
    if (scope_allows(caller, &t.object, SCOPE_WRITE))
        return true;
    /* a municipality's own events: its methodologists */
    return h->level == METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL &&
           caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY &&
           (caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST ||
            caller->role == METODNET__ROLE__ROLE_REGION_ADMIN) &&
           events_eq(caller->region_id, h->region_id) && events_eq(caller->scope_id, h->municipality_id);
}

bool events_home_readable(const Metodnet__Principal *caller, const events_home *h)
{
    if (scope_is_global(caller))
        return true;
    if (caller == NULL || caller->role == METODNET__ROLE__ROLE_UNSPECIFIED ||
        !events_eq(caller->region_id, h->region_id))
        return false;
    if (h->level == METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL ||
        caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_REGION)
        return true;
    if (caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY)
        return events_eq(caller->scope_id, h->municipality_id);
    return events_eq(caller->municipality_id, h->municipality_id); /* a school, a person */
}

static void s_check_home(validation *v, Metodnet__HomeLevel level, const char *organization_id,
                         const char *municipality_id, const char *organization_field)
{
    switch (level) {
    case METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL:
        validate_id(v, organization_field, organization_id, true);
        break;
    case METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL:
        validate_id(v, "municipalityId", municipality_id, true);
        break;
    case METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL:
        if (events_set(municipality_id))
            validation_add(v, "municipalityId", "У регионального уровня нет муниципалитета");
        break;
    default:
        validation_add(v, "level", "Укажите уровень: institutional, municipal или regional");
    }
}

static void s_home_tokens(entity_layout *out, const events_home *h)
{
    entity_layout_token(out, "level", pbjson_enum_word(&metodnet__home_level__descriptor, h->level));
    if (events_set(h->municipality_id))
        entity_layout_token(out, "mun", h->municipality_id);
    if (events_set(h->organization_id))
        entity_layout_token(out, "org", h->organization_id);
}

/* "<date-time>\x1f<id>": chronological order. */
static void s_dated_member(char *out, size_t size, const char *at, const char *id)
{
    char sortable[48];
    snprintf(sortable, sizeof sortable, "%s", at ? at : "");
    for (char *p = sortable; *p; p++)
        if (*p == '\x1f')
            *p = ' ';
    snprintf(out, size, "%s\x1f%s", sortable, id);
}

static const char *const s_region_fields[] = {"organization_id", "organizer_organization_id", "municipality_id",
                                              "region_id", NULL};

/* ---------- plan ---------- */

static events_home s_plan_home(const Metodnet__EventPlan *p)
{
    return (events_home){p->level, p->region_id, p->municipality_id, p->organization_id};
}

static const char *const s_plan_immutable[] = {
    "id",        "region_id",    "level",      "municipality_id", "organization_id",
    "status",    "order_number", "order_date", "approved_by",     "approved_at",
    "revisions", "version",      "created_at", "updated_at",      NULL};

static void s_plan_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__EventPlan *p = (const Metodnet__EventPlan *)msg;
    s_check_home(v, p->level, p->organization_id, p->municipality_id, "organizationId");
    validate_text(v, "title", p->title, 500, true);
    if (p->year < 2000 || p->year > 2100)
        validation_add(v, "year", "Учебный год — первый календарный год, например 2026 для 2026/27");
    validate_text(v, "changeReason", p->change_reason, 1000, false);
}

static void s_plan_territory(const ProtobufCMessage *msg, entity_territory *out)
{
    events_home h = s_plan_home((const Metodnet__EventPlan *)msg);
    s_home_territory(&h, out);
}

static bool s_plan_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    const Metodnet__EventPlan *p = (const Metodnet__EventPlan *)msg;
    events_home h = s_plan_home(p);
    if (events_home_writable(caller, &h))
        return true;
    return access == SCOPE_READ && p->status == METODNET__PLAN_STATUS__PLAN_STATUS_APPROVED &&
           events_home_readable(caller, &h);
}

static void s_plan_layout(const ProtobufCMessage *msg, entity_layout *out)
{
    const Metodnet__EventPlan *p = (const Metodnet__EventPlan *)msg;
    events_home h = s_plan_home(p);
    char member[160], year[16];
    snprintf(year, sizeof year, "%04d", p->year);
    s_dated_member(member, sizeof member, year, p->id);
    entity_layout_index(out, member, "ev:{r:%s}:ix:plan", p->region_id);
    s_home_tokens(out, &h);
    entity_layout_token(out, "st", pbjson_enum_word(&metodnet__plan_status__descriptor, p->status));
    entity_layout_token(out, "year", year);
    /* the events of the plan keep it */
    entity_layout_guard(out, "ev:{r:%s}:ix:event:plan:%s", p->region_id, p->id);
}

static void s_plan_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__EventPlan *p = (Metodnet__EventPlan *)msg;
    p->status = METODNET__PLAN_STATUS__PLAN_STATUS_DRAFT;
    events_replace(&p->order_number, "");
    events_replace(&p->order_date, "");
    events_replace(&p->approved_by, "");
    events_replace(&p->approved_at, "");
    events_replace(&p->change_reason, "");
    for (size_t i = 0; i < p->n_revisions; i++)
        protobuf_c_message_free_unpacked(&p->revisions[i]->base, NULL);
    free(p->revisions);
    p->revisions = NULL;
    p->n_revisions = 0;
    /* an organization's plan: municipality_id was set from the organization (events.c) */
}

/* A change of an approved plan is a new version with its reason (002: «корректируется»). */
static void s_plan_on_update(const ProtobufCMessage *current, ProtobufCMessage *next, const Metodnet__Principal *caller,
                             const char *now, validation *v)
{
    const Metodnet__EventPlan *cur = (const Metodnet__EventPlan *)current;
    Metodnet__EventPlan *p = (Metodnet__EventPlan *)next;
    if (cur->status != METODNET__PLAN_STATUS__PLAN_STATUS_APPROVED) {
        events_replace(&p->change_reason, "");
        return;
    }
    if (!events_set(p->change_reason)) {
        validation_add(v, "changeReason", "План утверждён: укажите причину изменения (changeReason)");
        return;
    }
    if (p->n_revisions >= 500) {
        validation_add(v, "changeReason", "У плана уже 500 изменений: утвердите новый план");
        return;
    }
    Metodnet__PlanRevision *r = xmalloc(sizeof *r);
    metodnet__plan_revision__init(r);
    r->plan_version = cur->version + 1;
    r->changed_at = xstrdup(now);
    r->changed_by = xstrdup(caller && caller->user_id ? caller->user_id : "");
    r->reason = xstrdup(p->change_reason);
    p->revisions = xrealloc(p->revisions, sizeof *p->revisions * (p->n_revisions + 1));
    p->revisions[p->n_revisions++] = r;
    events_replace(&p->change_reason, "");
}

static entity_transition_result s_plan_approve(const ProtobufCMessage *request, ProtobufCMessage *next,
                                               const Metodnet__Principal *caller, const char *now, validation *v,
                                               const char **conflict_ru)
{
    const Metodnet__ApproveEventPlanRequest *r = (const Metodnet__ApproveEventPlanRequest *)request;
    Metodnet__EventPlan *p = (Metodnet__EventPlan *)next;
    if (p->status == METODNET__PLAN_STATUS__PLAN_STATUS_APPROVED) {
        *conflict_ru = "План уже утверждён; изменения вносятся с указанием причины";
        return ENTITY_TRANSITION_CONFLICT;
    }
    validate_text(v, "orderNumber", r->order_number, 64, true);
    int day = 0;
    if (validate_date(v, "orderDate", r->order_date, true, &day) && day > date_today())
        validation_add(v, "orderDate", "Дата приказа не может быть в будущем");
    if (!validation_ok(v))
        return ENTITY_TRANSITION_INVALID;
    p->status = METODNET__PLAN_STATUS__PLAN_STATUS_APPROVED;
    events_replace(&p->order_number, r->order_number);
    events_replace(&p->order_date, r->order_date);
    events_replace(&p->approved_by, caller && caller->user_id ? caller->user_id : "");
    events_replace(&p->approved_at, now);
    return ENTITY_TRANSITION_OK;
}

/* Every write of a plan is "eventPlan.<what>": created, updated (a draft), approved, changed (after
 * approval), deleted. */
static const char *s_plan_event_type(const ProtobufCMessage *current, const ProtobufCMessage *next)
{
    const Metodnet__EventPlan *cur = (const Metodnet__EventPlan *)current, *nxt = (const Metodnet__EventPlan *)next;
    if (cur == NULL)
        return "eventPlan.created";
    if (nxt == NULL)
        return "eventPlan.deleted";
    if (nxt->status != METODNET__PLAN_STATUS__PLAN_STATUS_APPROVED)
        return "eventPlan.updated";
    return cur->status == METODNET__PLAN_STATUS__PLAN_STATUS_APPROVED ? "eventPlan.changed" : "eventPlan.approved";
}

static bool s_year_valid(const char *value)
{
    int y = 0;
    return strlen(value) == 4 && sscanf(value, "%4d", &y) == 1 && y >= 2000 && y <= 2100;
}

static const entity_filter s_plan_filters[] = {
    {.field = "level", .token = "level", .words = &metodnet__home_level__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "status", .token = "st", .words = &metodnet__plan_status__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "year", .token = "year", .check = ENTITY_FILTER_CUSTOM, .valid = s_year_valid},
    {.field = "municipality_id", .token = "mun", .check = ENTITY_FILTER_ID},
    {.field = "organization_id", .token = "org", .check = ENTITY_FILTER_ID},
};

const entity_kind events_plan_kind = {
    .prefix = "ev",
    .name = "plan",
    .audit_name = "event_plan",
    .id_letter = 'y',
    .region_fields = s_region_fields,
    FILTERS(s_plan_filters),
    .json_field = "plan",
    .descriptor = &metodnet__event_plan__descriptor,
    .not_found_ru = "План мероприятий не найден",
    .exists_ru = "План мероприятий уже существует",
    .not_empty_ru = "В плане есть мероприятия: удалить его нельзя",
    .immutable = s_plan_immutable,
    .validate = s_plan_validate,
    .territory = s_plan_territory,
    .layout = s_plan_layout,
    .allows = s_plan_allows,
    .list_unnarrowed = true,
    .transition = s_plan_approve,
    .on_create = s_plan_on_create,
    .event_type = s_plan_event_type,
    .on_update = s_plan_on_update,
};

/* ---------- event ---------- */

events_home events_event_home(const Metodnet__Event *e)
{
    return (events_home){e->level, e->region_id, e->municipality_id, e->organizer_organization_id};
}

static const char *const s_event_immutable[] = {"id",
                                                "region_id",
                                                "level",
                                                "organizer_organization_id",
                                                "municipality_id",
                                                "status",
                                                "cancel_reason",
                                                "registered_count",
                                                "waitlisted_count",
                                                "version",
                                                "created_at",
                                                "updated_at",
                                                "published_at",
                                                "finished_at",
                                                NULL};

static bool s_code_valid(const char *code)
{
    size_t n = strlen(code);
    if (n == 0 || n > 64)
        return false;
    for (const char *p = code; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
            return false;
    return true;
}

static void s_check_words(validation *v, const char *field, char *const *items, size_t n, size_t max,
                          const ProtobufCEnumDescriptor *words, bool subjects)
{
    if (n > max) {
        validation_add(v, field, "Не более %zu значений", max);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "%s[%zu]", field, i);
        int value = 0;
        bool ok = subjects ? dictionary_subject_known(items[i])
                  : words  ? pbjson_enum_parse(words, items[i], &value) && value != 0
                           : s_code_valid(items[i]);
        if (!ok)
            validation_add(v, path, "Неизвестное значение «%.60s»", items[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(items[i], items[j]) == 0)
                validation_add(v, path, "Значение указано дважды");
    }
}

static bool s_url_valid(const char *url)
{
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return false;
    if (strlen(url) > 2000)
        return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ')
            return false;
    return true;
}

static void s_event_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__Event *e = (const Metodnet__Event *)msg;
    if (e->type == METODNET__EVENT_TYPE__EVENT_TYPE_UNSPECIFIED)
        validation_add(v, "type", "Укажите вид мероприятия (например, seminar, master_class, conference)");
    s_check_home(v, e->level, e->organizer_organization_id, e->municipality_id, "organizerOrganizationId");
    if (events_set(e->organizer_organization_id))
        validate_id(v, "organizerOrganizationId", e->organizer_organization_id, true);
    if (events_set(e->plan_id) && strstr(e->plan_id, "-y") == NULL)
        validation_add(v, "planId", "Неверный идентификатор плана, например «07-y1»");
    else if (events_set(e->plan_id))
        validate_id(v, "planId", e->plan_id, true);
    if (events_set(e->support_programme_id))
        validate_id(v, "supportProgrammeId", e->support_programme_id, true);
    validate_text(v, "title", e->title, 500, true);
    validate_text(v, "description", e->description, 10000, false);
    if (e->audience) {
        s_check_words(v, "audience.subjects", e->audience->subjects, e->audience->n_subjects, 30, NULL, true);
        s_check_words(v, "audience.positions", e->audience->positions, e->audience->n_positions, 20,
                      &metodnet__position__descriptor, false);
        s_check_words(v, "audience.categories", e->audience->categories, e->audience->n_categories, 10,
                      &metodnet__qualification_category__descriptor, false);
    }
    s_check_words(v, "competences", e->competences, e->n_competences, 30, NULL, false);
    int64_t starts = 0, ends = 0, deadline = 0;
    bool starts_ok = clock_parse_rfc3339(e->starts_at, &starts);
    if (!starts_ok)
        validation_add(v, "startsAt", "Укажите начало в формате RFC 3339, например 2026-10-15T10:00:00+03:00");
    if (!clock_parse_rfc3339(e->ends_at, &ends))
        validation_add(v, "endsAt", "Укажите окончание в формате RFC 3339, например 2026-10-15T13:00:00+03:00");
    else if (starts_ok && ends < starts)
        validation_add(v, "endsAt", "Окончание не может быть раньше начала");
    if (events_set(e->registration_deadline)) {
        if (!clock_parse_rfc3339(e->registration_deadline, &deadline))
            validation_add(v, "registrationDeadline", "Срок записи — в формате RFC 3339");
        else if (starts_ok && deadline > starts)
            validation_add(v, "registrationDeadline", "Запись должна закончиться не позже начала мероприятия");
    }
    validate_text(v, "venue", e->venue, 500, false);
    if (events_set(e->online_url) && !s_url_valid(e->online_url))
        validation_add(v, "onlineUrl", "Ссылка должна начинаться с http:// или https:// и не содержать пробелов");
    if (!events_set(e->venue) && !events_set(e->online_url))
        validation_add(v, "venue", "Укажите место проведения (venue) или ссылку для онлайн-участия (onlineUrl)");
    if (e->capacity < 0 || e->capacity > 100000)
        validation_add(v, "capacity", "Число мест — от 0 (без ограничения) до 100000");
    else if (e->capacity > 0 && e->registered_count > e->capacity)
        validation_add(v, "capacity", "Мест меньше, чем уже записано (%d)", e->registered_count);
    if (e->n_quotas > 0 && e->level != METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL)
        validation_add(v, "quotas", "Квоты муниципалитетов задаются только для региональных мероприятий");
    if (e->n_quotas > 100)
        validation_add(v, "quotas", "Не более 100 квот");
    long long seats = 0;
    for (size_t i = 0; i < e->n_quotas && i < 100; i++) {
        char path[64];
        snprintf(path, sizeof path, "quotas[%zu].municipalityId", i);
        validate_id(v, path, e->quotas[i]->municipality_id, true);
        for (size_t j = 0; j < i; j++)
            if (events_eq(e->quotas[i]->municipality_id, e->quotas[j]->municipality_id))
                validation_add(v, path, "Квота этого муниципалитета указана дважды");
        snprintf(path, sizeof path, "quotas[%zu].seats", i);
        if (e->quotas[i]->seats < 1 || e->quotas[i]->seats > 100000)
            validation_add(v, path, "Квота — от 1 до 100000 мест");
        seats += e->quotas[i]->seats;
    }
    if (e->capacity > 0 && seats > e->capacity)
        validation_add(v, "quotas", "Сумма квот (%lld) больше числа мест (%d)", seats, e->capacity);
}

static void s_event_territory(const ProtobufCMessage *msg, entity_territory *out)
{
    events_home h = events_event_home((const Metodnet__Event *)msg);
    s_home_territory(&h, out);
}

static bool s_event_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    const Metodnet__Event *e = (const Metodnet__Event *)msg;
    events_home h = events_event_home(e);
    if (events_home_writable(caller, &h))
        return true;
    return access == SCOPE_READ && e->status != METODNET__EVENT_STATUS__EVENT_STATUS_DRAFT &&
           events_home_readable(caller, &h);
}

static void s_event_layout(const ProtobufCMessage *msg, entity_layout *out)
{
    const Metodnet__Event *e = (const Metodnet__Event *)msg;
    events_home h = events_event_home(e);
    char member[160];
    s_dated_member(member, sizeof member, e->starts_at, e->id);
    entity_layout_index(out, member, "ev:{r:%s}:ix:event", e->region_id);
    if (events_set(e->municipality_id))
        entity_layout_index(out, member, "ev:{r:%s}:ix:event:mun:%s", e->region_id, e->municipality_id);
    if (events_set(e->organizer_organization_id))
        entity_layout_index(out, member, "ev:{r:%s}:ix:event:org:%s", e->region_id, e->organizer_organization_id);
    if (events_set(e->plan_id)) {
        entity_layout_index(out, member, "ev:{r:%s}:ix:event:plan:%s", e->region_id, e->plan_id);
        entity_layout_token(out, "plan", e->plan_id);
        entity_layout_reference(out, "planId", "ev:{r:%s}:plan:%s", e->region_id, e->plan_id);
    }
    s_home_tokens(out, &h);
    entity_layout_token(out, "type", pbjson_enum_word(&metodnet__event_type__descriptor, e->type));
    entity_layout_token(out, "st", pbjson_enum_word(&metodnet__event_status__descriptor, e->status));
    for (size_t i = 0; i < e->n_competences; i++)
        entity_layout_token(out, "comp", e->competences[i]);
    /* registrations keep an event; a published one is cancelled, not deleted (its own index is never
     * empty while it is in it) */
    entity_layout_guard(out, "ev:{r:%s}:ix:registration:event:%s", e->region_id, e->id);
    if (e->status != METODNET__EVENT_STATUS__EVENT_STATUS_DRAFT)
        entity_layout_guard(out, "ev:{r:%s}:ix:event", e->region_id);
}

static size_t s_event_references(const ProtobufCMessage *msg, entity_reference *out, size_t max)
{
    const Metodnet__Event *e = (const Metodnet__Event *)msg;
    if (!events_set(e->plan_id) || max == 0)
        return 0;
    out[0].kind = &events_plan_kind;
    snprintf(out[0].id, sizeof out[0].id, "%s", e->plan_id);
    snprintf(out[0].field, sizeof out[0].field, "planId");
    out[0].visible = true;
    return 1;
}

static void s_event_apply(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index;
    const Metodnet__Event *e = (const Metodnet__Event *)msg;
    const Metodnet__EventPlan *p = (const Metodnet__EventPlan *)loaded;
    if (p->region_id && e->region_id && strcmp(p->region_id, e->region_id) != 0)
        validation_add(v, "planId", "План другого региона");
}

static void s_event_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__Event *e = (Metodnet__Event *)msg;
    e->status = METODNET__EVENT_STATUS__EVENT_STATUS_DRAFT;
    e->registered_count = 0;
    e->waitlisted_count = 0;
    events_replace(&e->cancel_reason, "");
    events_replace(&e->published_at, "");
    events_replace(&e->finished_at, "");
    /* a school event: municipality_id was set from the organizer organization (events.c) */
}

static const char *s_event_update_conflict(const ProtobufCMessage *current)
{
    const Metodnet__Event *e = (const Metodnet__Event *)current;
    if (e->status == METODNET__EVENT_STATUS__EVENT_STATUS_CANCELLED ||
        e->status == METODNET__EVENT_STATUS__EVENT_STATUS_FINISHED)
        return "Отменённое или завершённое мероприятие изменить нельзя";
    return NULL;
}

static entity_transition_result s_event_transition(const ProtobufCMessage *request, ProtobufCMessage *next,
                                                   const Metodnet__Principal *caller, const char *now, validation *v,
                                                   const char **conflict_ru)
{
    (void)caller;
    Metodnet__Event *e = (Metodnet__Event *)next;
    if (request->descriptor == &metodnet__publish_event_request__descriptor) {
        if (e->status != METODNET__EVENT_STATUS__EVENT_STATUS_DRAFT) {
            *conflict_ru = "Опубликовать можно только черновик";
            return ENTITY_TRANSITION_CONFLICT;
        }
        int64_t ends = 0;
        if (clock_parse_rfc3339(e->ends_at, &ends) && ends < clock_unix_ms()) {
            *conflict_ru = "Мероприятие уже прошло: опубликовать его нельзя";
            return ENTITY_TRANSITION_CONFLICT;
        }
        e->status = METODNET__EVENT_STATUS__EVENT_STATUS_PUBLISHED;
        events_replace(&e->published_at, now);
        return ENTITY_TRANSITION_OK;
    }
    if (request->descriptor == &metodnet__cancel_event_request__descriptor) {
        const Metodnet__CancelEventRequest *r = (const Metodnet__CancelEventRequest *)request;
        if (e->status != METODNET__EVENT_STATUS__EVENT_STATUS_PUBLISHED) {
            *conflict_ru = "Отменить можно только опубликованное мероприятие (черновик можно удалить)";
            return ENTITY_TRANSITION_CONFLICT;
        }
        if (!validate_text(v, "reason", r->reason, 1000, true))
            return ENTITY_TRANSITION_INVALID;
        e->status = METODNET__EVENT_STATUS__EVENT_STATUS_CANCELLED;
        events_replace(&e->cancel_reason, r->reason);
        return ENTITY_TRANSITION_OK;
    }
    if (request->descriptor == &metodnet__finish_event_request__descriptor) {
        if (e->status != METODNET__EVENT_STATUS__EVENT_STATUS_PUBLISHED) {
            *conflict_ru = "Завершить можно только опубликованное мероприятие";
            return ENTITY_TRANSITION_CONFLICT;
        }
        int64_t starts = 0;
        if (clock_parse_rfc3339(e->starts_at, &starts) && starts > clock_unix_ms()) {
            *conflict_ru = "Мероприятие ещё не началось: завершить его нельзя";
            return ENTITY_TRANSITION_CONFLICT;
        }
        e->status = METODNET__EVENT_STATUS__EVENT_STATUS_FINISHED;
        events_replace(&e->finished_at, now);
        return ENTITY_TRANSITION_OK;
    }
    validation_add(v, "", "Неизвестное действие");
    return ENTITY_TRANSITION_INVALID;
}

static const char *s_event_event_type(const ProtobufCMessage *current, const ProtobufCMessage *next)
{
    const Metodnet__Event *cur = (const Metodnet__Event *)current, *nxt = (const Metodnet__Event *)next;
    if (cur == NULL || nxt == NULL)
        return NULL;
    bool was_published = cur->status == METODNET__EVENT_STATUS__EVENT_STATUS_PUBLISHED;
    switch (nxt->status) {
    case METODNET__EVENT_STATUS__EVENT_STATUS_PUBLISHED:
        return was_published ? "event.changed" : "event.published";
    case METODNET__EVENT_STATUS__EVENT_STATUS_CANCELLED:
        return was_published ? "event.cancelled" : NULL;
    case METODNET__EVENT_STATUS__EVENT_STATUS_FINISHED:
        return was_published ? "event.finished" : NULL;
    default:
        return NULL;
    }
}

/* Dates (from/to, YYYY-MM-DD) on the start's calendar date; a subject: events for it or for anyone. */
static bool s_event_match(const ProtobufCMessage *msg, const ProtobufCMessage *request, const char *after)
{
    (void)after;
    const Metodnet__Event *e = (const Metodnet__Event *)msg;
    const Metodnet__ListEventsRequest *r = (const Metodnet__ListEventsRequest *)request;
    char day[11] = "";
    if (e->starts_at && strlen(e->starts_at) >= 10)
        memcpy(day, e->starts_at, 10);
    if (events_set(r->from) && strcmp(day, r->from) < 0)
        return false;
    if (events_set(r->to) && strcmp(day, r->to) > 0)
        return false;
    if (events_set(r->subject) && e->audience && e->audience->n_subjects > 0) {
        bool found = false;
        for (size_t i = 0; i < e->audience->n_subjects && !found; i++)
            found = strcmp(e->audience->subjects[i], r->subject) == 0;
        if (!found)
            return false;
    }
    /* a municipality's list shows the region's events too (they are for every municipality) */
    if (events_set(r->municipality_id) && !events_eq(e->municipality_id, r->municipality_id) &&
        e->level != METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL)
        return false;
    return true;
}

static bool s_competence_valid(const char *value)
{
    return s_code_valid(value);
}

static const entity_filter s_event_filters[] = {
    {.field = "type", .token = "type", .words = &metodnet__event_type__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "level", .token = "level", .words = &metodnet__home_level__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "status", .token = "st", .words = &metodnet__event_status__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "competence", .token = "comp", .check = ENTITY_FILTER_CUSTOM, .valid = s_competence_valid},
    {.field = "subject", .check = ENTITY_FILTER_SUBJECT},
    {.field = "municipality_id", .check = ENTITY_FILTER_ID},
    {.field = "organization_id", .token = "org", .check = ENTITY_FILTER_ID},
    {.field = "plan_id", .token = "plan", .check = ENTITY_FILTER_ID},
    {.field = "from", .check = ENTITY_FILTER_DATE},
    {.field = "to", .check = ENTITY_FILTER_DATE},
};
static const entity_list_index s_event_indexes[] = {
    {.field = "plan_id", .index = "event:plan", .token = "plan"},
    {.field = "organization_id", .index = "event:org", .token = "org"},
};

const entity_kind events_event_kind = {
    .prefix = "ev",
    .name = "event",
    .id_letter = 'e',
    .region_fields = s_region_fields,
    FILTERS(s_event_filters),
    INDEXES(s_event_indexes),
    .json_field = "event",
    .descriptor = &metodnet__event__descriptor,
    .not_found_ru = "Мероприятие не найдено",
    .exists_ru = "Мероприятие уже существует",
    .not_empty_ru = "Удалить можно только черновик без записей; опубликованное мероприятие отмените",
    .immutable = s_event_immutable,
    .validate = s_event_validate,
    .territory = s_event_territory,
    .layout = s_event_layout,
    .allows = s_event_allows,
    .list_unnarrowed = true,
    .references = s_event_references,
    .apply_reference = s_event_apply,
    .list_match = s_event_match,
    .transition = s_event_transition,
    .on_create = s_event_on_create,
    .update_conflict = s_event_update_conflict,
    .event_type = s_event_event_type,
    .stored = events_event_stored,
};

/* ---------- audience ---------- */

static bool s_in(char *const *items, size_t n, const char *value)
{
    for (size_t i = 0; i < n; i++)
        if (events_eq(items[i], value))
            return true;
    return false;
}

bool events_audience_admits(const Metodnet__Event *e, const Metodnet__StaffMember *s, char *why, size_t size)
{
    const Metodnet__EventAudience *a = e->audience;
    if (e->level != METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL &&
        !s_in(s->municipality_ids, s->n_municipality_ids, e->municipality_id)) {
        snprintf(why, size, "Мероприятие проводится для педагогов своего муниципалитета");
        return false;
    }
    if (a == NULL)
        return true;
    if (a->n_subjects > 0) {
        bool any = false;
        for (size_t i = 0; i < s->n_subjects && !any; i++)
            any = s_in(a->subjects, a->n_subjects, s->subjects[i]);
        if (!any) {
            snprintf(why, size, "Мероприятие для педагогов других предметов");
            return false;
        }
    }
    if (a->n_positions > 0 &&
        !s_in(a->positions, a->n_positions, pbjson_enum_word(&metodnet__position__descriptor, s->position))) {
        snprintf(why, size, "Мероприятие для работников других должностей");
        return false;
    }
    if (a->n_categories > 0 &&
        !s_in(a->categories, a->n_categories,
              pbjson_enum_word(&metodnet__qualification_category__descriptor, s->qualification_category))) {
        snprintf(why, size, "Мероприятие для педагогов другой квалификационной категории");
        return false;
    }
    if (a->young_teachers_only) {
        /* young: under 35 on the event's start date (DOMAIN.md) */
        int born = 0, y = 0, m = 0, d = 0, by = 0, bm = 0, bd = 0;
        bool known = date_parse(s->birth_date, &born) && sscanf(s->birth_date, "%4d-%2d-%2d", &by, &bm, &bd) == 3 &&
                     e->starts_at && sscanf(e->starts_at, "%4d-%2d-%2d", &y, &m, &d) == 3;
        int age = known ? y - by - ((m < bm || (m == bm && d < bd)) ? 1 : 0) : 99;
        if (age >= 35) {
            snprintf(why, size, "Мероприятие только для молодых педагогов (до 35 лет)");
            return false;
        }
    }
    return true;
}

/* ---------- registration ---------- */

static void s_registration_territory(const ProtobufCMessage *msg, entity_territory *out)
{
    const Metodnet__Registration *g = (const Metodnet__Registration *)msg;
    memset(out, 0, sizeof *out);
    out->object.region_id = g->region_id;
    size_t n_orgs = 0, n_muns = 0;
    if (events_set(g->organization_id))
        out->organizations[n_orgs++] = g->organization_id;
    if (events_set(g->event_organization_id) && !events_eq(g->event_organization_id, g->organization_id))
        out->organizations[n_orgs++] = g->event_organization_id;
    if (events_set(g->municipality_id))
        out->municipalities[n_muns++] = g->municipality_id;
    if (events_set(g->event_municipality_id) && !events_eq(g->event_municipality_id, g->municipality_id))
        out->municipalities[n_muns++] = g->event_municipality_id;
    out->object.organization_ids = out->organizations;
    out->object.n_organizations = n_orgs;
    out->object.municipality_ids = out->municipalities;
    out->object.n_municipalities = n_muns;
    out->object.person_id = g->staff_id;
}

/* The person reads their own; the person's school and municipality and the event's organizers read and
 * write (a teacher writes their own only through the registration flows). */
static bool s_registration_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    entity_territory t;
    s_registration_territory(msg, &t);
    return scope_allows(caller, &t.object, access);
}

static void s_registration_layout(const ProtobufCMessage *msg, entity_layout *out)
{
    const Metodnet__Registration *g = (const Metodnet__Registration *)msg;
    char member[160];
    s_dated_member(member, sizeof member, g->created_at, g->id);
    entity_layout_index(out, member, "ev:{r:%s}:ix:registration", g->region_id);
    entity_layout_index(out, member, "ev:{r:%s}:ix:registration:event:%s", g->region_id, g->event_id);
    entity_layout_index(out, member, "ev:{r:%s}:ix:registration:staff:%s", g->region_id, g->staff_id);
    entity_layout_token(out, "st", pbjson_enum_word(&metodnet__registration_status__descriptor, g->status));
    entity_layout_token(out, "event", g->event_id);
    entity_layout_token(out, "staff", g->staff_id);
    entity_territory t;
    s_registration_territory(msg, &t);
    for (size_t i = 0; i < t.object.n_organizations; i++)
        entity_layout_token(out, "org", t.object.organization_ids[i]);
    for (size_t i = 0; i < t.object.n_municipalities; i++)
        entity_layout_token(out, "mun", t.object.municipality_ids[i]);
    if (g->status != METODNET__REGISTRATION_STATUS__REGISTRATION_STATUS_CANCELLED) {
        char pair[160];
        snprintf(pair, sizeof pair, "%s:%s", g->event_id, g->staff_id);
        entity_layout_claim(out, EVENTS_ONCE_CLAIM, pair, "ev:{r:%s}:claim:registration:%s", g->region_id,
                            EVENTS_ONCE_CLAIM);
    }
    entity_layout_reference(out, "eventId", "ev:{r:%s}:event:%s", g->region_id, g->event_id);
}

static void s_registration_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__Registration *g = (const Metodnet__Registration *)msg;
    validate_id(v, "eventId", g->event_id, true);
    validate_id(v, "staffId", g->staff_id, true);
}

static const entity_filter s_registration_filters[] = {
    {.field = "status",
     .token = "st",
     .words = &metodnet__registration_status__descriptor,
     .check = ENTITY_FILTER_ENUM},
    {.field = "organization_id", .token = "org", .check = ENTITY_FILTER_ID},
    {.field = "municipality_id", .token = "mun", .check = ENTITY_FILTER_ID},
    {.field = "event_id", .check = ENTITY_FILTER_ID},
    {.field = "staff_id", .check = ENTITY_FILTER_ID},
};
static const entity_list_index s_registration_indexes[] = {
    {.field = "event_id", .index = "registration:event", .token = "event"},
    {.field = "staff_id", .index = "registration:staff", .token = "staff"},
};
static const entity_list_parent s_registration_parents[] = {
    {.field = "event_id", .kind = &events_event_kind},
};

const entity_kind events_registration_kind = {
    .prefix = "ev",
    .name = "registration",
    .id_letter = 'g',
    FILTERS(s_registration_filters),
    INDEXES(s_registration_indexes),
    .list_parents = s_registration_parents,
    .n_list_parents = 1,
    .self_token = "staff",
    .json_field = "registration",
    .descriptor = &metodnet__registration__descriptor,
    .not_found_ru = "Запись на мероприятие не найдена",
    .exists_ru = "Сотрудник уже записан на это мероприятие",
    .not_empty_ru = "",
    .validate = s_registration_validate,
    .territory = s_registration_territory,
    .layout = s_registration_layout,
    .allows = s_registration_allows,
    .personal = true,
};
