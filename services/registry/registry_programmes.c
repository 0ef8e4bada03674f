/* registry_programmes — catalogue kinds: the programme catalogue (ДПП) and qualification records. Validation, territory, layout, scope
 * and descriptors (registry_catalogue.h); shared helpers in registry_catalogue_internal.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dictionary.h"
#include "pbfield.h"
#include "pbjson.h"
#include "registry.pb-c.h"
#include "registry_catalogue.h"
#include "registry_catalogue_internal.h"
#include "xalloc.h"

/* ---------- programme ---------- */

static const char *const s_programme_immutable[] = {
    "id", "region_id", "municipality_id", "version", "created_at", "updated_at", NULL};

static void s_programme_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__Programme *p = (const Metodnet__Programme *)msg;
    validate_text(v, "title", p->title, 500, true);
    validate_text(v, "provider", p->provider, 300, true);
    if (p->hours < 16 || p->hours > 1000)
        validation_add(v, "hours", "Объём программы — от 16 до 1000 часов");
    if (p->format == METODNET__PROGRAMME_FORMAT__PROGRAMME_FORMAT_UNSPECIFIED)
        validation_add(v, "format", "Укажите форму обучения: in_person, distance или blended");
    catalogue_check_competences(v, "competences", p->competences, p->n_competences, 30);
    if (p->n_tags > 15)
        validation_add(v, "tags", "Не более 15 тегов");
    for (size_t i = 0; i < p->n_tags && i < 15; i++) {
        char field[32];
        snprintf(field, sizeof field, "tags[%zu]", i);
        if (validate_text(v, field, p->tags[i], 100, true) && strchr(p->tags[i], '|') != NULL)
            validation_add(v, field, "Тег не может содержать «|»");
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->tags[i], p->tags[j]) == 0)
                validation_add(v, field, "Тег указан дважды");
    }
    validate_text(v, "description", p->description, 10000, false);
    catalogue_check_id(v, "municipalityId", p->municipality_id, &registry_municipality_kind, false, "07-m1");
    char region[8];
    if (catalogue_set(p->municipality_id) && catalogue_set(p->region_id) &&
        registry_region_of(p->municipality_id, region, sizeof region) && strcmp(region, p->region_id) != 0)
        validation_add(v, "municipalityId", "Муниципальное образование другого региона");
    if (catalogue_set(p->url) && !registry_url_valid(p->url, 2000))
        validation_add(v, "url", "Ссылка должна начинаться с http:// или https:// и не содержать пробелов");
}

static void s_programme_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    const Metodnet__Programme *p = (const Metodnet__Programme *)msg;
    memset(out, 0, sizeof *out);
    out->object.region_id = p->region_id;
    if (catalogue_set(p->municipality_id)) {
        out->municipalities[0] = p->municipality_id;
        out->object.municipality_ids = out->municipalities;
        out->object.n_municipalities = 1;
    }
}

/* The catalogue is read by the whole region. The region's programmes are written by its administrators; a
 * municipality's own programmes (000 §3.3 п.2) by the region and that municipality's methodologists. */
static bool s_programme_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    const Metodnet__Programme *p = (const Metodnet__Programme *)msg;
    if (access == SCOPE_READ)
        return catalogue_region_reader(caller, p->region_id);
    if (catalogue_set(p->municipality_id) && caller != NULL &&
        caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST &&
        caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY &&
        catalogue_eq(caller->region_id, p->region_id) && catalogue_eq(caller->scope_id, p->municipality_id))
        return true;
    scope_object region = {.region_id = p->region_id};
    return scope_allows(caller, &region, SCOPE_WRITE); /* the region's administrators */
}

static void s_programme_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__Programme *p = (const Metodnet__Programme *)msg;
    char key[REGISTRY_KEY_MAX], member[REGISTRY_MEMBER_MAX];
    registry_sort_member(member, sizeof member, p->title, p->id);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:programme", p->region_id);
    registry_layout_index(out, key, member);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:programme:word", p->region_id);
    catalogue_word_indexes(out, key, p->title, p->id);
    registry_layout_token(out, "fr", p->federal_registry ? "true" : "false");
    registry_layout_token(out, "format", catalogue_word(&metodnet__programme_format__descriptor, p->format));
    for (size_t i = 0; i < p->n_competences; i++)
        registry_layout_token(out, "comp", p->competences[i]);
    for (size_t i = 0; i < p->n_tags; i++) {
        char folded[256];
        text_fold(p->tags[i], folded, sizeof folded);
        registry_layout_token(out, "tag", folded);
    }
    registry_layout_token(out, "mun", catalogue_set(p->municipality_id) ? p->municipality_id : "none");
    entity_layout_reference(out, "regionId", "reg:{g}:region:%s", p->region_id);
    if (catalogue_set(p->municipality_id))
        entity_layout_reference(out, "municipalityId", "reg:{r:%s}:mun:%s", p->region_id, p->municipality_id);
    entity_layout_guard(out, "reg:{r:%s}:ix:qual:prog:%s", p->region_id, p->id);
}

static bool s_programme_match(const ProtobufCMessage *msg, const ProtobufCMessage *request, const char *after)
{
    const Metodnet__Programme *p = (const Metodnet__Programme *)msg;
    const char *q = ((const Metodnet__ListProgrammesRequest *)request)->q;
    if (!catalogue_set(q))
        return true;
    char key[64];
    registry_query_key(q, key, sizeof key);
    return registry_text_matches(p->title, q) && registry_word_first_seen(p->title, p->id, key, after);
}

static const entity_filter s_programme_filters[] = {
    {.field = "competence", .token = "comp", .check = ENTITY_FILTER_CUSTOM, .valid = registry_code_valid},
    {.field = "tag", .token = "tag", .check = ENTITY_FILTER_TEXT},
    {.field = "federal_registry", .token = "fr", .check = ENTITY_FILTER_BOOL},
    {.field = "municipality_id", .token = "mun", .check = ENTITY_FILTER_ID},
};

const registry_kind registry_programme_kind = {
    CATALOGUE_KIND,
    .name = "programme",
    FILTERS(s_programme_filters),
    .word_key = registry_query_key,
    .json_field = "programme",
    .descriptor = &metodnet__programme__descriptor,
    .not_found_ru = "Программа не найдена",
    .exists_ru = "Программа уже существует",
    .not_empty_ru = "По программе есть записи о повышении квалификации: удалить её нельзя",
    .immutable = s_programme_immutable,
    .validate = s_programme_validate,
    .territory = s_programme_territory,
    .layout = s_programme_layout,
    .allows = s_programme_allows,
    .list_unnarrowed = true,
    .list_match = s_programme_match,
};

/* ---------- qualification record ---------- */

static const char *const s_qualification_immutable[] = {
    "id",         "region_id",  "staff_id", "organization_ids", "municipality_ids", "route_item_id", "version",
    "created_at", "updated_at", NULL};

static void s_qualification_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__QualificationRecord *q = (const Metodnet__QualificationRecord *)msg;
    catalogue_check_id(v, "staffId", q->staff_id, &registry_staff_kind, true, "07-s12");
    catalogue_check_id(v, "programmeId", q->programme_id, &registry_programme_kind, false, "07-p3");
    validate_text(v, "programmeTitle", q->programme_title, 500, !catalogue_set(q->programme_id));
    int done = 0;
    if (validate_date(v, "completedOn", q->completed_on, true, &done) && done > date_today())
        validation_add(v, "completedOn", "Дата окончания обучения не может быть в будущем");
    bool degree = q->kind == METODNET__QUALIFICATION_KIND__QUALIFICATION_KIND_HIGHER_EDUCATION;
    if (q->hours < 0 || q->hours > 3000 || (q->hours == 0 && !catalogue_set(q->programme_id) && !degree))
        validation_add(v, "hours", "Объём обучения — от 1 до 3000 часов");
    validate_text(v, "documentNumber", q->document_number, 64, false);
    validate_text(v, "provider", q->provider, 300, false);
    int started = 0;
    if (validate_date(v, "startedOn", q->started_on, false, &started) && catalogue_set(q->started_on) && done &&
        started > done)
        validation_add(v, "startedOn", "Начало обучения позже его окончания");
    if (q->kind == METODNET__QUALIFICATION_KIND__QUALIFICATION_KIND_RETRAINING && q->hours != 0 && q->hours < 250)
        validation_add(v, "hours", "Профессиональная переподготовка — не менее 250 часов");
    const char *source = catalogue_set(q->source) ? q->source : "manual";
    bool route = strcmp(source, "route") == 0;
    if (!route && strcmp(source, "manual") != 0 && strcmp(source, "import") != 0)
        validation_add(v, "source", "Источник: manual, route или import");
    if (route)
        validate_id(v, "routeItemId", q->route_item_id, true);
    if (!route && catalogue_set(q->route_item_id))
        validation_add(v, "routeItemId", "Пункт маршрута указывается только с источником route");
}

static void s_qualification_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    const Metodnet__QualificationRecord *q = (const Metodnet__QualificationRecord *)msg;
    memset(out, 0, sizeof *out);
    out->object.region_id = q->region_id;
    size_t n_orgs =
        q->n_organization_ids < REGISTRY_MAX_ORGANIZATIONS ? q->n_organization_ids : REGISTRY_MAX_ORGANIZATIONS;
    size_t n_muns =
        q->n_municipality_ids < REGISTRY_MAX_ORGANIZATIONS ? q->n_municipality_ids : REGISTRY_MAX_ORGANIZATIONS;
    for (size_t i = 0; i < n_orgs; i++)
        out->organizations[i] = q->organization_ids[i];
    for (size_t i = 0; i < n_muns; i++)
        out->municipalities[i] = q->municipality_ids[i];
    out->object.organization_ids = out->organizations;
    out->object.n_organizations = n_orgs;
    out->object.municipality_ids = out->municipalities;
    out->object.n_municipalities = n_muns;
    out->object.person_id = q->staff_id;
}

/* A person reads their own records; records are written by the school, the methodologists, the
 * region, or the diagnostics service (system). */
static bool s_qualification_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    registry_territory t;
    s_qualification_territory(msg, &t);
    if (access == SCOPE_WRITE && caller != NULL && caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF)
        return false;
    return scope_allows(caller, &t.object, access);
}

static void s_qualification_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__QualificationRecord *q = (const Metodnet__QualificationRecord *)msg;
    char key[REGISTRY_KEY_MAX], member[REGISTRY_MEMBER_MAX];
    catalogue_dated_member(member, sizeof member, q->completed_on, q->id);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:qual", q->region_id);
    registry_layout_index(out, key, member);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:qual:staff:%s", q->region_id, q->staff_id);
    registry_layout_index(out, key, member);
    registry_layout_token(out, "staff", q->staff_id);
    registry_layout_token(out, "src", catalogue_set(q->source) ? q->source : "manual");
    registry_layout_token(out, "kind", catalogue_word(&metodnet__qualification_kind__descriptor, q->kind));
    for (size_t i = 0; i < q->n_organization_ids && i < REGISTRY_MAX_ORGANIZATIONS; i++)
        registry_layout_token(out, "org", q->organization_ids[i]);
    for (size_t i = 0; i < q->n_municipality_ids && i < REGISTRY_MAX_ORGANIZATIONS; i++)
        registry_layout_token(out, "mun", q->municipality_ids[i]);
    catalogue_staff_must_exist(out, q->region_id, q->staff_id, "staffId");
    if (catalogue_set(q->programme_id)) {
        snprintf(key, sizeof key, "reg:{r:%s}:ix:qual:prog:%s", q->region_id, q->programme_id);
        registry_layout_index(out, key, member);
        registry_layout_token(out, "prog", q->programme_id);
        entity_layout_reference(out, "programmeId", "reg:{r:%s}:programme:%s", q->region_id, q->programme_id);
    }
    /* at most one record per route item */
    entity_layout_claim(out, REGISTRY_ROUTE_ITEM_CLAIM, q->route_item_id, "reg:{r:%s}:claim:qual:%s", q->region_id,
                        REGISTRY_ROUTE_ITEM_CLAIM);
}

static size_t s_qualification_references(const ProtobufCMessage *msg, registry_reference *out, size_t max)
{
    const Metodnet__QualificationRecord *q = (const Metodnet__QualificationRecord *)msg;
    size_t n = catalogue_add_reference(out, 0, max, &registry_staff_kind, q->staff_id, "staffId", true);
    return catalogue_add_reference(out, n, max, &registry_programme_kind, q->programme_id, "programmeId", true);
}

static void s_qualification_apply(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index;
    Metodnet__QualificationRecord *q = (Metodnet__QualificationRecord *)msg;
    if (loaded->descriptor == &metodnet__staff_member__descriptor) {
        const Metodnet__StaffMember *s = (const Metodnet__StaffMember *)loaded;
        catalogue_copy_strings(&q->organization_ids, &q->n_organization_ids, s->organization_ids,
                               s->n_organization_ids);
        catalogue_copy_strings(&q->municipality_ids, &q->n_municipality_ids, s->municipality_ids,
                               s->n_municipality_ids);
    } else if (loaded->descriptor == &metodnet__programme__descriptor) {
        const Metodnet__Programme *p = (const Metodnet__Programme *)loaded;
        if (!catalogue_set(q->programme_title))
            catalogue_replace(&q->programme_title, p->title);
        if (!catalogue_set(q->provider))
            catalogue_replace(&q->provider, p->provider);
        if (q->hours == 0)
            q->hours = p->hours;
        if (q->hours == 0)
            validation_add(v, "hours", "Объём обучения — от 1 до 3000 часов");
    }
}

static void s_qualification_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__QualificationRecord *q = (Metodnet__QualificationRecord *)msg;
    if (!catalogue_set(q->source))
        catalogue_replace(&q->source, "manual");
    if (q->kind == METODNET__QUALIFICATION_KIND__QUALIFICATION_KIND_UNSPECIFIED)
        q->kind = METODNET__QUALIFICATION_KIND__QUALIFICATION_KIND_ADVANCED_TRAINING;
    catalogue_free_strings(&q->organization_ids, &q->n_organization_ids);
    catalogue_free_strings(&q->municipality_ids, &q->n_municipality_ids);
}

static const entity_filter s_qualification_filters[] = {
    {.field = "staff_id", .token = "staff", .check = ENTITY_FILTER_ID},
    {.field = "programme_id", .token = "prog", .check = ENTITY_FILTER_ID},
    {.field = "kind", .token = "kind", .words = &metodnet__qualification_kind__descriptor, .check = ENTITY_FILTER_ENUM},
};
static const entity_list_index s_qualification_indexes[] = {
    {.field = "staff_id", .index = "qual:staff"},
    {.field = "programme_id", .index = "qual:prog"},
};

const registry_kind registry_qualification_kind = {
    CATALOGUE_KIND,
    .name = "qual",
    .audit_name = "qualification_record",
    FILTERS(s_qualification_filters),
    INDEXES(s_qualification_indexes),
    .self_token = "staff",
    .json_field = "record",
    .descriptor = &metodnet__qualification_record__descriptor,
    .not_found_ru = "Запись о повышении квалификации не найдена",
    .exists_ru = "Запись о повышении квалификации по этому пункту маршрута уже есть",
    .not_empty_ru = "",
    .immutable = s_qualification_immutable,
    .validate = s_qualification_validate,
    .territory = s_qualification_territory,
    .layout = s_qualification_layout,
    .allows = s_qualification_allows,
    .references = s_qualification_references,
    .apply_reference = s_qualification_apply,
    .idempotent_claim = REGISTRY_ROUTE_ITEM_CLAIM,
    .on_create = s_qualification_on_create,
    .personal = true,
};
