/* registry_kinds — keys, indexes, territory and validation of each registry entity (see header). */
#include "registry_kinds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dictionary.h"
#include "pbfield.h"
#include "pbjson.h"
#include "registry.pb-c.h"
#include "xalloc.h"

/* ---------- shared ---------- */

void registry_search_prefix(const char *q, char *out, size_t size)
{
    entity_sort_prefix(q, out, size);
}

const char *registry_layout_external_id(const registry_layout *layout)
{
    for (size_t i = 0; i < layout->n_claims; i++)
        if (strcmp(layout->claims[i].field, "externalId") == 0)
            return layout->claims[i].value;
    return NULL;
}

/* The external id: optional, at most 64 characters, no line breaks or control characters. */
static void s_validate_external_id(validation *v, const char *value)
{
    if (!validate_text(v, "externalId", value, 64, false) || value == NULL)
        return;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            validation_add(v, "externalId", "Внешний идентификатор не может содержать управляющие символы");
            return;
        }
    if (*value && (value[0] == ' ' || value[strlen(value) - 1] == ' '))
        validation_add(v, "externalId", "Внешний идентификатор не может начинаться или кончаться пробелом");
}

static void s_set_claim(registry_layout *out, const registry_kind *kind, const char *region, const char *value)
{
    entity_layout_claim(out, "externalId", value, "reg:{r:%s}:xid:%s", region, kind->name);
}

static void s_member(char *out, size_t size, const char *name, const char *id)
{
    entity_layout_sort_member(out, size, name, id);
}

static void s_add_index(registry_layout *out, const char *key, const char *member)
{
    entity_layout_index(out, member, "%s", key);
}

static void s_add_token(registry_layout *out, const char *name, const char *value)
{
    entity_layout_token(out, name, value);
}

static const char *s_word(const ProtobufCEnumDescriptor *desc, int value)
{
    const char *word = pbjson_enum_word(desc, value);
    return word ? word : "none";
}

/* ---------- region ---------- */

static const char *const s_region_immutable[] = {"id", "version", "created_at", "updated_at", NULL};

static void s_region_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    const Metodnet__Region *r = (const Metodnet__Region *)msg;
    if (creating) {
        const char *id = r->id;
        if (id == NULL || strlen(id) != 2 || id[0] < '0' || id[0] > '9' || id[1] < '0' || id[1] > '9' ||
            strcmp(id, "00") == 0)
            validation_add(v, "id", "Код региона — две цифры от 01 до 99 (код субъекта РФ)");
    }
    validate_text(v, "name", r->name, 200, true);
}

static void s_region_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    const Metodnet__Region *r = (const Metodnet__Region *)msg;
    memset(out, 0, sizeof *out);
    out->object.region_id = r->id;
}

static void s_region_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__Region *r = (const Metodnet__Region *)msg;
    char member[REGISTRY_MEMBER_MAX];
    s_member(member, sizeof member, r->name, r->id);
    s_add_index(out, "reg:{g}:ix:regions", member);
    s_add_token(out, "id", r->id);
    /* Deleting a region needs it empty of municipalities. */
    entity_layout_guard(out, "reg:{r:%s}:ix:mun", r->id);
}

static const char *const s_region_fields[] = {"id", NULL};

const registry_kind registry_region_kind = {
    .prefix = "reg",
    .name = "region",
    .index_name = "regions",
    .global = true,
    .region_fields = s_region_fields,
    .json_field = "region",
    .descriptor = &metodnet__region__descriptor,
    .not_found_ru = "Регион не найден",
    .exists_ru = "Регион с таким кодом уже есть",
    .not_empty_ru = "В регионе есть муниципальные образования: сначала удалите их",
    .immutable = s_region_immutable,
    .validate = s_region_validate,
    .territory = s_region_territory,
    .layout = s_region_layout,
};

/* ---------- municipality ---------- */

static const char *const s_municipality_immutable[] = {"id", "region_id", "version", "created_at", "updated_at", NULL};

static void s_municipality_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    const Metodnet__Municipality *m = (const Metodnet__Municipality *)msg;
    char region[8];
    if (creating && validate_id(v, "regionId", m->region_id, true) &&
        !(registry_region_of(m->region_id, region, sizeof region) && strcmp(region, m->region_id) == 0))
        validation_add(v, "regionId", "Код региона — две цифры, например «07»");
    validate_text(v, "name", m->name, 200, true);
    if (m->kind == METODNET__MUNICIPALITY_KIND__MUNICIPALITY_KIND_UNSPECIFIED)
        validation_add(v, "kind", "Укажите вид муниципального образования: district, city, city_district или zato");
}

static void s_municipality_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    const Metodnet__Municipality *m = (const Metodnet__Municipality *)msg;
    memset(out, 0, sizeof *out);
    out->object.region_id = m->region_id;
    out->municipalities[0] = m->id;
    out->object.municipality_ids = out->municipalities;
    out->object.n_municipalities = 1;
}

static void s_municipality_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__Municipality *m = (const Metodnet__Municipality *)msg;
    char key[REGISTRY_KEY_MAX], member[REGISTRY_MEMBER_MAX];
    s_member(member, sizeof member, m->name, m->id);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:mun", m->region_id);
    s_add_index(out, key, member);
    s_add_token(out, "kind", s_word(&metodnet__municipality_kind__descriptor, m->kind));
    s_add_token(out, "mun", m->id);
    entity_layout_reference(out, "regionId", "reg:{g}:region:%s", m->region_id);
    entity_layout_guard(out, "reg:{r:%s}:ix:org:mun:%s", m->region_id, m->id);
}

static const char *const s_municipality_region_fields[] = {"region_id", NULL};
static const entity_filter s_municipality_filters[] = {
    {.field = "kind", .token = "kind", .words = &metodnet__municipality_kind__descriptor, .check = ENTITY_FILTER_ENUM},
};

const registry_kind registry_municipality_kind = {
    .prefix = "reg",
    .name = "mun",
    .audit_name = "municipality",
    .region_fields = s_municipality_region_fields,
    .filters = s_municipality_filters,
    .n_filters = sizeof s_municipality_filters / sizeof s_municipality_filters[0],
    .org_scope_by_municipality = true,
    .json_field = "municipality",
    .descriptor = &metodnet__municipality__descriptor,
    .not_found_ru = "Муниципальное образование не найдено",
    .exists_ru = "Муниципальное образование уже существует",
    .not_empty_ru = "В муниципальном образовании есть организации: сначала удалите их",
    .immutable = s_municipality_immutable,
    .validate = s_municipality_validate,
    .territory = s_municipality_territory,
    .layout = s_municipality_layout,
};

/* ---------- organization ---------- */

static const char *const s_organization_immutable[] = {
    "id", "region_id", "municipality_id", "version", "created_at", "updated_at", NULL};

static void s_organization_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    const Metodnet__Organization *o = (const Metodnet__Organization *)msg;
    if (creating && validate_id(v, "municipalityId", o->municipality_id, true)) {
        char key[REGISTRY_KEY_MAX];
        if (!registry_entity_key(&registry_municipality_kind, o->municipality_id, key, sizeof key))
            validation_add(v, "municipalityId", "Это не идентификатор муниципального образования (вида «07-m1»)");
    }
    validate_text(v, "name", o->name, 500, true);
    validate_text(v, "shortName", o->short_name, 200, false);
    if (o->kind == METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_UNSPECIFIED)
        validation_add(v, "kind", "Укажите вид организации, например school, preschool, lyceum");
    if (o->n_sites > 20)
        validation_add(v, "sites", "Не более 20 статусов площадки");
    for (size_t i = 0; i < o->n_sites && i < 20; i++) {
        const Metodnet__SiteDesignation *s = o->sites[i];
        char field[64];
        snprintf(field, sizeof field, "sites[%zu].kind", i);
        if (s->kind == METODNET__SITE_KIND__SITE_KIND_UNSPECIFIED)
            validation_add(v, field, "Укажите вид площадки: base, innovation, internship или support");
        int start = 0, end = 0;
        snprintf(field, sizeof field, "sites[%zu].startDate", i);
        bool start_ok = validate_date(v, field, s->start_date, true, &start);
        snprintf(field, sizeof field, "sites[%zu].endDate", i);
        bool end_ok = validate_date(v, field, s->end_date, false, &end);
        if (start_ok && end_ok && s->end_date && *s->end_date && end < start)
            validation_add(v, field, "Дата окончания раньше даты начала");
        snprintf(field, sizeof field, "sites[%zu].theme", i);
        validate_text(v, field, s->theme, 500, false);
        snprintf(field, sizeof field, "sites[%zu].orderNumber", i);
        validate_text(v, field, s->order_number, 100, false);
        snprintf(field, sizeof field, "sites[%zu].orderDate", i);
        int order_day = 0;
        if (validate_date(v, field, s->order_date, false, &order_day) && s->order_date && *s->order_date && start_ok &&
            order_day > start)
            validation_add(v, field, "Приказ о присвоении статуса не может быть позже начала работы площадки");
        snprintf(field, sizeof field, "sites[%zu].curatorStaffId", i);
        if (s->curator_staff_id && *s->curator_staff_id) {
            char key[REGISTRY_KEY_MAX];
            if (!registry_entity_key(&registry_staff_kind, s->curator_staff_id, key, sizeof key))
                validation_add(v, field, "Это не идентификатор работника (вида «07-s12»)");
        }
        snprintf(field, sizeof field, "sites[%zu].report", i);
        validate_text(v, field, s->report, 4000, false);
    }

    validate_text(v, "lowResultsSupport", o->low_results_support, 2000, false);
    bool has_curator = o->curator_organization_id && *o->curator_organization_id;
    if (has_curator) {
        char key[REGISTRY_KEY_MAX], region[8], own_region[8];
        if (!registry_entity_key(&registry_organization_kind, o->curator_organization_id, key, sizeof key))
            validation_add(v, "curatorOrganizationId", "Это не идентификатор организации (вида «07-o12»)");
        else if (o->id && strcmp(o->id, o->curator_organization_id) == 0)
            validation_add(v, "curatorOrganizationId", "Организация не может курировать сама себя");
        else if (registry_region_of(o->curator_organization_id, region, sizeof region) &&
                 registry_region_of(o->municipality_id, own_region, sizeof own_region) &&
                 strcmp(region, own_region) != 0)
            validation_add(v, "curatorOrganizationId", "Курирующая организация должна быть в том же регионе");
    }
    if (!o->low_results && !o->difficult_conditions &&
        (has_curator || (o->low_results_support && *o->low_results_support)))
        validation_add(v, has_curator ? "curatorOrganizationId" : "lowResultsSupport",
                       "Сопровождение назначается только школе с низкими результатами (lowResults) или в сложных "
                       "социальных условиях (difficultConditions)");
    s_validate_external_id(v, o->external_id);
}

/* The founder a new organization gets when none is given (an import row without the column, a client
 * written before founders were kept): a regional centre and a college are the region's, the rest of a
 * municipality's network the municipality's. Stated in docs/import.md; the record shows it and any
 * update may correct it. */
void registry_organization_default_founder(Metodnet__Organization *o)
{
    if (o->founder != METODNET__ORGANIZATION_FOUNDER__ORGANIZATION_FOUNDER_UNSPECIFIED)
        return;
    bool regional = o->kind == METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_REGIONAL_CENTRE ||
                    o->kind == METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_VOCATIONAL;
    o->founder = regional ? METODNET__ORGANIZATION_FOUNDER__ORGANIZATION_FOUNDER_REGIONAL
                          : METODNET__ORGANIZATION_FOUNDER__ORGANIZATION_FOUNDER_MUNICIPAL;
}

static void s_organization_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    registry_organization_default_founder((Metodnet__Organization *)msg);
}

/* A record stored before founders were kept gets the default founder (as a new one would). */
static bool s_organization_upgrade(ProtobufCMessage *msg)
{
    Metodnet__Organization *o = (Metodnet__Organization *)msg;
    Metodnet__OrganizationFounder before = o->founder;
    registry_organization_default_founder(o);
    return o->founder != before;
}

static void s_organization_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    const Metodnet__Organization *o = (const Metodnet__Organization *)msg;
    memset(out, 0, sizeof *out);
    out->object.region_id = o->region_id;
    out->municipalities[0] = o->municipality_id;
    out->organizations[0] = o->id;
    out->object.municipality_ids = out->municipalities;
    out->object.n_municipalities = 1;
    out->object.organization_ids = out->organizations;
    out->object.n_organizations = 1;
}

static void s_organization_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__Organization *o = (const Metodnet__Organization *)msg;
    char key[REGISTRY_KEY_MAX], member[REGISTRY_MEMBER_MAX];
    s_member(member, sizeof member, o->name, o->id);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:org", o->region_id);
    s_add_index(out, key, member);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:org:mun:%s", o->region_id, o->municipality_id);
    s_add_index(out, key, member);
    s_add_token(out, "kind", s_word(&metodnet__organization_kind__descriptor, o->kind));
    s_add_token(out, "mun", o->municipality_id);
    s_add_token(out, "org", o->id);
    s_add_token(out, "lowres", o->low_results ? "true" : "false");
    s_add_token(out, "hard", o->difficult_conditions ? "true" : "false");
    if (o->founder != METODNET__ORGANIZATION_FOUNDER__ORGANIZATION_FOUNDER_UNSPECIFIED)
        s_add_token(out, "founder", s_word(&metodnet__organization_founder__descriptor, o->founder));
    for (size_t i = 0; i < o->n_sites && i < 20; i++) {
        s_add_token(out, "site", s_word(&metodnet__site_kind__descriptor, o->sites[i]->kind));
        const char *curator = o->sites[i]->curator_staff_id;
        if (curator && *curator)
            entity_layout_reference(out, "sites.curatorStaffId", "reg:{r:%s}:staff:%s", o->region_id, curator);
    }
    entity_layout_reference(out, "municipalityId", "reg:{r:%s}:mun:%s", o->region_id, o->municipality_id);
    if (o->curator_organization_id && *o->curator_organization_id) {
        s_add_token(out, "curator", o->curator_organization_id);
        snprintf(key, sizeof key, "reg:{r:%s}:ix:org:curator:%s", o->region_id, o->curator_organization_id);
        s_add_index(out, key, member);
        entity_layout_reference(out, "curatorOrganizationId", "reg:{r:%s}:org:%s", o->region_id,
                                o->curator_organization_id);
    }
    /* Deleting an organization needs it empty of staff and of what lives in it. */
    const char *guards[] = {"staff:org", "org:curator", "assoc:org", "council:org", "practice:org"};
    for (size_t i = 0; i < sizeof guards / sizeof guards[0]; i++)
        entity_layout_guard(out, "reg:{r:%s}:ix:%s:%s", o->region_id, guards[i], o->id);
    s_set_claim(out, &registry_organization_kind, o->region_id, o->external_id);
}

/* A site of the asked kind (any kind when only site_on is given) whose period holds the date
 * (site_on, default today); end_date is the last day of the designation. */
static bool s_organization_match(const ProtobufCMessage *msg, const ProtobufCMessage *request, const char *after)
{
    (void)after;
    const Metodnet__Organization *o = (const Metodnet__Organization *)msg;
    const Metodnet__ListOrganizationsRequest *r = (const Metodnet__ListOrganizationsRequest *)request;
    bool by_kind = r->site_kind && *r->site_kind, by_date = r->site_on && *r->site_on;
    if (!by_kind && !by_date)
        return true;
    int kind = 0, day = date_today();
    if (by_kind && !pbjson_enum_parse(&metodnet__site_kind__descriptor, r->site_kind, &kind))
        return false;
    if (by_date && !date_parse(r->site_on, &day))
        return false;
    for (size_t i = 0; i < o->n_sites; i++) {
        const Metodnet__SiteDesignation *s = o->sites[i];
        int start, end;
        if (by_kind && (int)s->kind != kind)
            continue;
        if (!date_parse(s->start_date, &start) || start > day)
            continue;
        if (s->end_date && *s->end_date && date_parse(s->end_date, &end) && end < day)
            continue;
        return true;
    }
    return false;
}

static const char *const s_organization_region_fields[] = {"municipality_id", NULL};
static const entity_filter s_organization_filters[] = {
    {.field = "kind", .token = "kind", .words = &metodnet__organization_kind__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "low_results", .token = "lowres", .check = ENTITY_FILTER_BOOL},
    {.field = "difficult_conditions", .token = "hard", .check = ENTITY_FILTER_BOOL},
    {.field = "founder",
     .token = "founder",
     .words = &metodnet__organization_founder__descriptor,
     .check = ENTITY_FILTER_ENUM},
    {.field = "site_kind", .token = "site", .words = &metodnet__site_kind__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "site_on", .check = ENTITY_FILTER_DATE},
    {.field = "curator_organization_id", .token = "curator", .check = ENTITY_FILTER_ID},
};
static const entity_list_index s_organization_indexes[] = {
    {.field = "curator_organization_id", .index = "org:curator"},
    {.field = "municipality_id", .index = "org:mun"},
};

const registry_kind registry_organization_kind = {
    .prefix = "reg",
    .name = "org",
    .audit_name = "organization",
    .region_fields = s_organization_region_fields,
    .filters = s_organization_filters,
    .n_filters = sizeof s_organization_filters / sizeof s_organization_filters[0],
    .list_indexes = s_organization_indexes,
    .n_list_indexes = sizeof s_organization_indexes / sizeof s_organization_indexes[0],
    .json_field = "organization",
    .descriptor = &metodnet__organization__descriptor,
    .not_found_ru = "Организация не найдена",
    .exists_ru = "Организация уже существует",
    .not_empty_ru = "В организации есть сотрудники, курируемые школы, объединения, методический совет или практики: "
                    "сначала удалите их или переведите в другую организацию",
    .immutable = s_organization_immutable,
    .validate = s_organization_validate,
    .on_create = s_organization_on_create,
    .upgrade = s_organization_upgrade,
    .territory = s_organization_territory,
    .layout = s_organization_layout,
    .list_match = s_organization_match,
};

/* ---------- staff member ---------- */

static const char *const s_staff_immutable[] = {"id",         "region_id", "municipality_ids", "version", "created_at",
                                                "updated_at", NULL};

#define STAFF_MAX_EMPLOYMENT 50

/* Attestation, the history of posts, a manager's appointment and the personnel reserve. */
static void s_validate_career(const Metodnet__StaffMember *s, int birth, int today, validation *v)
{
    int category_day = 0;
    if (validate_date(v, "qualificationCategoryDate", s->qualification_category_date, false, &category_day) &&
        s->qualification_category_date && *s->qualification_category_date) {
        if (category_day > today)
            validation_add(v, "qualificationCategoryDate", "Дата присвоения категории не может быть в будущем");
        bool has_category =
            s->qualification_category == METODNET__QUALIFICATION_CATEGORY__QUALIFICATION_CATEGORY_FIRST ||
            s->qualification_category == METODNET__QUALIFICATION_CATEGORY__QUALIFICATION_CATEGORY_HIGHEST;
        if (!has_category)
            validation_add(v, "qualificationCategoryDate",
                           "Дата присвоения указывается для первой или высшей квалификационной категории");
    }
    int appointed = 0;
    if (validate_date(v, "appointedOn", s->appointed_on, false, &appointed) && s->appointed_on && *s->appointed_on) {
        if (s->category != METODNET__STAFF_CATEGORY__STAFF_CATEGORY_MANAGER)
            validation_add(v, "appointedOn",
                           "Дата назначения на должность руководителя — только у управленческих кадров");
        else if (appointed > today)
            validation_add(v, "appointedOn", "Дата назначения не может быть в будущем");
    }
    if (s->n_employment > STAFF_MAX_EMPLOYMENT)
        validation_add(v, "employment", "Не более %d периодов работы", STAFF_MAX_EMPLOYMENT);
    for (size_t i = 0; i < s->n_employment && i < STAFF_MAX_EMPLOYMENT; i++) {
        const Metodnet__Employment *e = s->employment[i];
        char field[64], key[REGISTRY_KEY_MAX];
        snprintf(field, sizeof field, "employment[%zu].organizationId", i);
        if (!e->organization_id ||
            !registry_entity_key(&registry_organization_kind, e->organization_id, key, sizeof key))
            validation_add(v, field, "Это не идентификатор организации (вида «07-o12»)");
        else if (s->n_organization_ids && strncmp(e->organization_id, s->organization_ids[0], 2) != 0)
            validation_add(v, field, "Организация другого региона");
        snprintf(field, sizeof field, "employment[%zu].position", i);
        if (e->position == METODNET__POSITION__POSITION_UNSPECIFIED)
            validation_add(v, field, "Укажите должность в этот период");
        int from = 0, to = 0;
        snprintf(field, sizeof field, "employment[%zu].from", i);
        bool from_ok = validate_date(v, field, e->from, true, &from);
        if (from_ok && (from > today || (birth && from < birth + 14 * 365)))
            validation_add(v, field, "Начало периода в будущем или раньше 14 лет от рождения");
        snprintf(field, sizeof field, "employment[%zu].to", i);
        if (validate_date(v, field, e->to, false, &to) && e->to && *e->to && from_ok && to < from)
            validation_add(v, field, "Конец периода раньше его начала");
    }
}

/* Derived on every write: a category is set for five years (the day before the fifth anniversary is its last). */
void registry_staff_derive(Metodnet__StaffMember *s)
{
    int y, m, d;
    char due[48] = "";
    if (s->qualification_category_date && sscanf(s->qualification_category_date, "%4d-%2d-%2d", &y, &m, &d) == 3 &&
        (s->qualification_category == METODNET__QUALIFICATION_CATEGORY__QUALIFICATION_CATEGORY_FIRST ||
         s->qualification_category == METODNET__QUALIFICATION_CATEGORY__QUALIFICATION_CATEGORY_HIGHEST)) {
        if (m == 2 && d == 29)
            d = 28; /* 29 February + 5 years is not a date */
        snprintf(due, sizeof due, "%04d-%02d-%02d", y + 5, m, d);
    }
    pbfield_set_string(&s->base, "next_attestation_due", due);
}

/* A record stored before the next attestation was derived gets it. */
static bool s_staff_upgrade(ProtobufCMessage *msg)
{
    Metodnet__StaffMember *s = (Metodnet__StaffMember *)msg;
    char *before = xstrdup(s->next_attestation_due ? s->next_attestation_due : "");
    registry_staff_derive(s);
    bool changed = strcmp(before, s->next_attestation_due ? s->next_attestation_due : "") != 0;
    free(before);
    return changed;
}

static void s_staff_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__StaffMember *s = (const Metodnet__StaffMember *)msg;
    validate_text(v, "lastName", s->last_name, 100, true);
    validate_text(v, "firstName", s->first_name, 100, true);
    validate_text(v, "middleName", s->middle_name, 100, false);
    int birth = 0, start = 0, today = date_today();
    if (validate_date(v, "birthDate", s->birth_date, true, &birth)) {
        int age_days = today - birth;
        if (age_days < 16 * 365 || age_days > 100 * 366)
            validation_add(v, "birthDate", "Возраст сотрудника должен быть от 16 до 100 лет");
    }
    if (validate_date(v, "professionStartDate", s->profession_start_date, false, &start) && s->profession_start_date &&
        *s->profession_start_date) {
        if (start > today)
            validation_add(v, "professionStartDate", "Дата начала работы в профессии не может быть в будущем");
        else if (birth && start < birth + 14 * 365)
            validation_add(v, "professionStartDate", "Дата начала работы в профессии раньше 14 лет от рождения");
    }
    if (s->position == METODNET__POSITION__POSITION_UNSPECIFIED)
        validation_add(v, "position", "Укажите должность, например teacher, educator, director");
    s_validate_career(s, birth, today, v);
    if (s->category == METODNET__STAFF_CATEGORY__STAFF_CATEGORY_UNSPECIFIED)
        validation_add(v, "category", "Укажите категорию: teacher (педагог) или manager (управленческий кадр)");
    if (s->n_subjects > 20)
        validation_add(v, "subjects", "Не более 20 учебных предметов");
    for (size_t i = 0; i < s->n_subjects && i < 20; i++) {
        char field[48];
        snprintf(field, sizeof field, "subjects[%zu]", i);
        if (!dictionary_subject_known(s->subjects[i]))
            validation_add(v, field, "Неизвестный учебный предмет «%.60s»", s->subjects[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->subjects[i], s->subjects[j]) == 0)
                validation_add(v, field, "Предмет указан дважды");
    }
    if (s->n_organization_ids == 0)
        validation_add(v, "organizationIds", "Укажите хотя бы одну организацию — место работы");
    if (s->n_organization_ids > REGISTRY_MAX_ORGANIZATIONS)
        validation_add(v, "organizationIds", "Не более %d мест работы", REGISTRY_MAX_ORGANIZATIONS);
    char first_region[8] = "";
    for (size_t i = 0; i < s->n_organization_ids && i < REGISTRY_MAX_ORGANIZATIONS; i++) {
        char field[48], key[REGISTRY_KEY_MAX], region[8];
        snprintf(field, sizeof field, "organizationIds[%zu]", i);
        const char *id = s->organization_ids[i];
        if (!registry_entity_key(&registry_organization_kind, id, key, sizeof key)) {
            validation_add(v, field, "Это не идентификатор организации (вида «07-o12»)");
            continue;
        }
        registry_region_of(id, region, sizeof region);
        if (!*first_region)
            snprintf(first_region, sizeof first_region, "%s", region);
        else if (strcmp(first_region, region) != 0)
            validation_add(v, field, "Все места работы должны быть в одном регионе");
        for (size_t j = 0; j < i; j++)
            if (strcmp(id, s->organization_ids[j]) == 0)
                validation_add(v, field, "Организация указана дважды");
    }
    s_validate_external_id(v, s->external_id);
}

static void s_staff_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    const Metodnet__StaffMember *s = (const Metodnet__StaffMember *)msg;
    memset(out, 0, sizeof *out);
    out->object.region_id = s->region_id;
    size_t n_orgs =
        s->n_organization_ids < REGISTRY_MAX_ORGANIZATIONS ? s->n_organization_ids : REGISTRY_MAX_ORGANIZATIONS;
    size_t n_muns =
        s->n_municipality_ids < REGISTRY_MAX_ORGANIZATIONS ? s->n_municipality_ids : REGISTRY_MAX_ORGANIZATIONS;
    for (size_t i = 0; i < n_orgs; i++)
        out->organizations[i] = s->organization_ids[i];
    for (size_t i = 0; i < n_muns; i++)
        out->municipalities[i] = s->municipality_ids[i];
    out->object.organization_ids = out->organizations;
    out->object.n_organizations = n_orgs;
    out->object.municipality_ids = out->municipalities;
    out->object.n_municipalities = n_muns;
    out->object.person_id = s->id;
}

static void s_staff_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__StaffMember *s = (const Metodnet__StaffMember *)msg;
    char key[REGISTRY_KEY_MAX], member[REGISTRY_MEMBER_MAX], name[400];
    snprintf(name, sizeof name, "%s %s %s", s->last_name, s->first_name, s->middle_name ? s->middle_name : "");
    s_member(member, sizeof member, name, s->id);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:staff", s->region_id);
    s_add_index(out, key, member);
    s_add_token(out, "id", s->id); /* lets a teacher's own-profile scope list exactly themselves */
    s_add_token(out, "cat", s_word(&metodnet__staff_category__descriptor, s->category));
    s_add_token(out, "pos", s_word(&metodnet__position__descriptor, s->position));
    s_add_token(out, "act", s->active ? "true" : "false");
    for (size_t i = 0; i < s->n_subjects; i++)
        s_add_token(out, "subj", s->subjects[i]);
    for (size_t i = 0; i < s->n_organization_ids && i < REGISTRY_MAX_ORGANIZATIONS; i++) {
        snprintf(key, sizeof key, "reg:{r:%s}:ix:staff:org:%s", s->region_id, s->organization_ids[i]);
        s_add_index(out, key, member);
        s_add_token(out, "org", s->organization_ids[i]);
        entity_layout_reference(out, "organizationIds", "reg:{r:%s}:org:%s", s->region_id, s->organization_ids[i]);
    }
    for (size_t i = 0; i < s->n_municipality_ids && i < REGISTRY_MAX_ORGANIZATIONS; i++) {
        snprintf(key, sizeof key, "reg:{r:%s}:ix:staff:mun:%s", s->region_id, s->municipality_ids[i]);
        s_add_index(out, key, member);
        s_add_token(out, "mun", s->municipality_ids[i]);
    }
    /* A person with a history (qualification, memberships, practices) is made inactive, not deleted. */
    const char *guards[] = {"qual:staff", "member:staff", "practice:author"};
    for (size_t i = 0; i < sizeof guards / sizeof guards[0]; i++)
        entity_layout_guard(out, "reg:{r:%s}:ix:%s:%s", s->region_id, guards[i], s->id);
    s_set_claim(out, &registry_staff_kind, s->region_id, s->external_id);
}

/* Birth date is personal data (152-ФЗ): school information systems read staff lists by API key
 * and have no need for it; people with a role in the methodological service do (young-teacher
 * indicators, mentoring). */
static bool s_staff_redact(ProtobufCMessage *msg, const Metodnet__Principal *caller)
{
    if (caller->role != METODNET__ROLE__ROLE_SCHOOL_SYSTEM || pbfield_string(msg, "birth_date")[0] == '\0')
        return false;
    pbfield_set_string(msg, "birth_date", "");
    return true;
}

/* A teacher keeps their name and subjects current; position, category, organizations and the
 * qualification category are set by the school. */
static const char *const s_staff_self_editable[] = {"last_name", "first_name", "middle_name", "subjects", NULL};

/* Each organization must exist and, when newly named, be readable by the caller; the member's
 * municipalities are those of its organizations. */
static size_t s_staff_references(const ProtobufCMessage *msg, registry_reference *out, size_t max)
{
    const Metodnet__StaffMember *s = (const Metodnet__StaffMember *)msg;
    size_t n = 0;
    for (size_t i = 0; i < s->n_organization_ids && n < max; i++, n++) {
        out[n].kind = &registry_organization_kind;
        snprintf(out[n].id, sizeof out[n].id, "%s", s->organization_ids[i]);
        snprintf(out[n].field, sizeof out[n].field, "organizationIds[%zu]", i);
        out[n].visible = true;
    }
    return n;
}

static void s_staff_prepare_references(ProtobufCMessage *msg)
{
    Metodnet__StaffMember *s = (Metodnet__StaffMember *)msg;
    registry_staff_derive(s);
    for (size_t i = 0; i < s->n_municipality_ids; i++)
        free(s->municipality_ids[i]);
    free(s->municipality_ids);
    s->municipality_ids = NULL;
    s->n_municipality_ids = 0;
}

static void s_staff_apply_reference(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index, (void)v;
    Metodnet__StaffMember *s = (Metodnet__StaffMember *)msg;
    const Metodnet__Organization *org = (const Metodnet__Organization *)loaded;
    for (size_t i = 0; i < s->n_municipality_ids; i++)
        if (strcmp(s->municipality_ids[i], org->municipality_id) == 0)
            return;
    s->municipality_ids = xrealloc(s->municipality_ids, (s->n_municipality_ids + 1) * sizeof *s->municipality_ids);
    s->municipality_ids[s->n_municipality_ids++] = xstrdup(org->municipality_id);
}

/* A new staff member works unless told otherwise. */
static void s_staff_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    if (!entity_request_names(request, "active"))
        ((Metodnet__StaffMember *)msg)->active = 1;
}

/* The personnel reserve and the attestation due by a date (YYYY-MM-DD compares as text). */
static bool s_staff_match(const ProtobufCMessage *msg, const ProtobufCMessage *request, const char *after)
{
    (void)after;
    const Metodnet__StaffMember *s = (const Metodnet__StaffMember *)msg;
    const Metodnet__ListStaffRequest *r = (const Metodnet__ListStaffRequest *)request;
    if (r->personnel_reserve && *r->personnel_reserve &&
        (strcmp(r->personnel_reserve, "true") == 0) != (s->personnel_reserve != 0))
        return false;
    if (r->attestation_due_before && *r->attestation_due_before &&
        (!s->next_attestation_due || !*s->next_attestation_due ||
         strcmp(s->next_attestation_due, r->attestation_due_before) > 0))
        return false;
    return true;
}

static const char *const s_staff_region_fields[] = {"organization_ids", NULL};
static const entity_filter s_staff_filters[] = {
    {.field = "category", .token = "cat", .words = &metodnet__staff_category__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "position", .token = "pos", .words = &metodnet__position__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "active", .token = "act", .check = ENTITY_FILTER_BOOL},
    {.field = "subject", .token = "subj", .check = ENTITY_FILTER_SUBJECT},
    {.field = "personnel_reserve", .check = ENTITY_FILTER_BOOL}, /* by s_staff_match: no token per person */
    {.field = "attestation_due_before", .check = ENTITY_FILTER_DATE},
};
static const entity_list_index s_staff_indexes[] = {
    {.field = "organization_id", .index = "staff:org", .token = "org"},
    {.field = "municipality_id", .index = "staff:mun", .token = "mun"},
};

const registry_kind registry_staff_kind = {
    .prefix = "reg",
    .name = "staff",
    .region_fields = s_staff_region_fields,
    .filters = s_staff_filters,
    .n_filters = sizeof s_staff_filters / sizeof s_staff_filters[0],
    .list_indexes = s_staff_indexes,
    .n_list_indexes = sizeof s_staff_indexes / sizeof s_staff_indexes[0],
    .self_token = "id",
    .personal = true,
    .references = s_staff_references,
    .prepare_references = s_staff_prepare_references,
    .apply_reference = s_staff_apply_reference,
    .on_create = s_staff_on_create,
    .upgrade = s_staff_upgrade,
    .list_match = s_staff_match,
    .json_field = "staff",
    .descriptor = &metodnet__staff_member__descriptor,
    .not_found_ru = "Сотрудник не найден",
    .exists_ru = "Сотрудник уже существует",
    .not_empty_ru = "У сотрудника есть записи о повышении квалификации, членстве в объединениях или практики: "
                    "вместо удаления отметьте его неактивным (active = false)",
    .immutable = s_staff_immutable,
    .self_editable = s_staff_self_editable,
    .validate = s_staff_validate,
    .territory = s_staff_territory,
    .layout = s_staff_layout,
    .redact = s_staff_redact,
};
