/* registry_kinds — keys, indexes, territory and validation of each registry entity (see header). */
#include "registry_kinds.h"

#include <stdio.h>
#include <string.h>

#include "dictionary.h"
#include "pbfield.h"
#include "pbjson.h"
#include "registry.pb-c.h"

/* ---------- ids and keys ---------- */

bool registry_region_of(const char *id, char *out, size_t size)
{
    if (!id_valid(id))
        return false;
    size_t n = strcspn(id, "-");
    if (n != 2 || n >= size || id[0] < '0' || id[0] > '9' || id[1] < '0' || id[1] > '9')
        return false;
    memcpy(out, id, n);
    out[n] = '\0';
    return true;
}

static bool s_is_region_kind(const registry_kind *kind)
{
    return kind == &registry_region_kind;
}

static char s_letter(const registry_kind *kind)
{
    return kind->id_letter ? kind->id_letter : kind->name[0];
}

bool registry_entity_key(const registry_kind *kind, const char *id, char *out, size_t size)
{
    char region[8];
    if (!registry_region_of(id, region, sizeof region))
        return false;
    if (s_is_region_kind(kind)) {
        if (strcmp(region, id) != 0)
            return false;
        snprintf(out, size, "reg:{g}:region:%s", id);
        return true;
    }
    /* the id must be of this kind: "07-s12" for staff */
    char marker[4];
    snprintf(marker, sizeof marker, "-%c", s_letter(kind));
    if (strncmp(id + 2, marker, 2) != 0 || id[4] == '\0')
        return false;
    for (const char *p = id + 4; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    snprintf(out, size, "reg:{r:%s}:%s:%s", region, kind->name, id);
    return true;
}

void registry_sequence_key(const registry_kind *kind, const char *region, char *out, size_t size)
{
    snprintf(out, size, "reg:{r:%s}:seq:%s", region, kind->name);
}

void registry_stream_key(const registry_kind *kind, const char *region, char *out, size_t size)
{
    if (s_is_region_kind(kind))
        snprintf(out, size, "reg:{g}:events");
    else
        snprintf(out, size, "reg:{r:%s}:events", region);
}

void registry_make_id(const registry_kind *kind, const char *region, long long sequence, char *out, size_t size)
{
    snprintf(out, size, "%s-%c%lld", region, s_letter(kind), sequence);
}

void registry_key_prefix(const registry_kind *kind, const char *region, char *out, size_t size)
{
    if (s_is_region_kind(kind))
        snprintf(out, size, "reg:{g}:region:");
    else
        snprintf(out, size, "reg:{r:%s}:%s:", region, kind->name);
}

void registry_main_index(const registry_kind *kind, const char *region, char *out, size_t size)
{
    if (s_is_region_kind(kind))
        snprintf(out, size, "reg:{g}:ix:regions");
    else
        snprintf(out, size, "reg:{r:%s}:ix:%s", region, kind->name);
}

void registry_search_prefix(const char *q, char *out, size_t size)
{
    text_fold(q, out, size);
}

void registry_claims_key(const registry_kind *kind, const char *region, char *out, size_t size)
{
    snprintf(out, size, "reg:{r:%s}:xid:%s", region, kind->name);
}

void registry_layout_claims(const registry_layout *old_layout, const registry_layout *new_layout, const char *id,
                            entity_claim *claims, size_t *n_claims, entity_claim *releases, size_t *n_releases)
{
    *n_claims = *n_releases = 0;
    bool old_has = old_layout && old_layout->claim_key[0], new_has = new_layout && new_layout->claim_key[0];
    if (new_has)
        claims[(*n_claims)++] = (entity_claim){new_layout->claim_key, new_layout->claim_value, id};
    if (old_has && !(new_has && strcmp(old_layout->claim_key, new_layout->claim_key) == 0 &&
                     strcmp(old_layout->claim_value, new_layout->claim_value) == 0))
        releases[(*n_releases)++] = (entity_claim){old_layout->claim_key, old_layout->claim_value, id};
}

static bool s_same_index(const registry_index *a, const registry_index *b)
{
    return strcmp(a->key, b->key) == 0 && strcmp(a->member, b->member) == 0;
}

size_t registry_layout_index_difference(const registry_layout *from, const registry_layout *than,
                                        entity_index_entry *out)
{
    size_t n = 0;
    for (size_t i = 0; i < from->n_indexes; i++) {
        bool shared = false;
        for (size_t j = 0; than && j < than->n_indexes && !shared; j++)
            shared = s_same_index(&from->indexes[i], &than->indexes[j]);
        if (!shared) {
            out[n].key = from->indexes[i].key;
            out[n].member = from->indexes[i].member;
            n++;
        }
    }
    return n;
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
    if (value == NULL || *value == '\0')
        return;
    registry_claims_key(kind, region, out->claim_key, sizeof out->claim_key);
    snprintf(out->claim_value, sizeof out->claim_value, "%s", value);
}

/* "<folded name>\x1f<id>": lists come out in alphabetical order, and a name prefix is a range. */
static void s_member(char *out, size_t size, const char *name, const char *id)
{
    char folded[200]; /* leaves room for the separator and a 64-character id */
    text_fold(name, folded, sizeof folded);
    /* the separator must not occur in the sort key */
    for (char *p = folded; *p; p++)
        if (*p == '\x1f')
            *p = ' ';
    snprintf(out, size, "%s\x1f%s", folded, id);
}

bool registry_allows(const registry_kind *kind, const Metodnet__Principal *caller, const ProtobufCMessage *entity,
                     scope_access access)
{
    if (kind->allows)
        return kind->allows(caller, entity, access);
    registry_territory territory;
    kind->territory(entity, &territory);
    return scope_allows(caller, &territory.object, access);
}

void registry_sort_member(char *out, size_t size, const char *text, const char *id)
{
    s_member(out, size, text, id);
}

static void s_add_index(registry_layout *out, const char *key, const char *member)
{
    if (out->n_indexes >= REGISTRY_MAX_INDEXES)
        return;
    registry_index *ix = &out->indexes[out->n_indexes++];
    snprintf(ix->key, sizeof ix->key, "%s", key);
    snprintf(ix->member, sizeof ix->member, "%s", member);
}

static void s_add_token(registry_layout *out, const char *name, const char *value)
{
    size_t used = strlen(out->attributes);
    if (used == 0)
        used = (size_t)snprintf(out->attributes, sizeof out->attributes, "|");
    snprintf(out->attributes + used, sizeof out->attributes - used, "%s:%s|", name, value ? value : "");
}

void registry_layout_index(registry_layout *out, const char *key, const char *member)
{
    s_add_index(out, key, member);
}
void registry_layout_token(registry_layout *out, const char *name, const char *value)
{
    s_add_token(out, name, value);
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
    memset(out, 0, sizeof *out);
    char member[REGISTRY_MEMBER_MAX];
    s_member(member, sizeof member, r->name, r->id);
    s_add_index(out, "reg:{g}:ix:regions", member);
    s_add_token(out, "id", r->id);
    /* Deleting a region needs it empty of municipalities. */
    snprintf(out->must_be_empty[0], REGISTRY_KEY_MAX, "reg:{r:%s}:ix:mun", r->id);
    out->n_must_be_empty = 1;
}

const registry_kind registry_region_kind = {
    .name = "region",
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
    memset(out, 0, sizeof *out);
    char key[REGISTRY_KEY_MAX], member[REGISTRY_MEMBER_MAX];
    s_member(member, sizeof member, m->name, m->id);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:mun", m->region_id);
    s_add_index(out, key, member);
    s_add_token(out, "kind", s_word(&metodnet__municipality_kind__descriptor, m->kind));
    s_add_token(out, "mun", m->id);
    snprintf(out->must_exist[0], REGISTRY_KEY_MAX, "reg:{g}:region:%s", m->region_id);
    out->must_exist_field[0] = "regionId";
    out->n_must_exist = 1;
    snprintf(out->must_be_empty[0], REGISTRY_KEY_MAX, "reg:{r:%s}:ix:org:mun:%s", m->region_id, m->id);
    out->n_must_be_empty = 1;
}

const registry_kind registry_municipality_kind = {
    .name = "mun",
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
    if (!o->low_results && (has_curator || (o->low_results_support && *o->low_results_support)))
        validation_add(v, has_curator ? "curatorOrganizationId" : "lowResultsSupport",
                       "Сопровождение назначается только школе с признаком ШНОР (lowResults)");
    s_validate_external_id(v, o->external_id);
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
    memset(out, 0, sizeof *out);
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
    for (size_t i = 0; i < o->n_sites && i < 20; i++)
        s_add_token(out, "site", s_word(&metodnet__site_kind__descriptor, o->sites[i]->kind));
    snprintf(out->must_exist[0], REGISTRY_KEY_MAX, "reg:{r:%s}:mun:%s", o->region_id, o->municipality_id);
    out->must_exist_field[0] = "municipalityId";
    out->n_must_exist = 1;
    if (o->curator_organization_id && *o->curator_organization_id) {
        s_add_token(out, "curator", o->curator_organization_id);
        snprintf(key, sizeof key, "reg:{r:%s}:ix:org:curator:%s", o->region_id, o->curator_organization_id);
        s_add_index(out, key, member);
        snprintf(out->must_exist[1], REGISTRY_KEY_MAX, "reg:{r:%s}:org:%s", o->region_id, o->curator_organization_id);
        out->must_exist_field[1] = "curatorOrganizationId";
        out->n_must_exist = 2;
    }
    /* Deleting an organization needs it empty of staff and of what lives in it. */
    const char *guards[] = {"staff:org", "org:curator", "assoc:org", "council:org", "practice:org"};
    for (size_t i = 0; i < sizeof guards / sizeof guards[0]; i++)
        snprintf(out->must_be_empty[i], REGISTRY_KEY_MAX, "reg:{r:%s}:ix:%s:%s", o->region_id, guards[i], o->id);
    out->n_must_be_empty = sizeof guards / sizeof guards[0];
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

const registry_kind registry_organization_kind = {
    .name = "org",
    .json_field = "organization",
    .descriptor = &metodnet__organization__descriptor,
    .not_found_ru = "Организация не найдена",
    .exists_ru = "Организация уже существует",
    .not_empty_ru = "В организации есть сотрудники, курируемые школы, объединения, методический совет или практики: "
                    "сначала удалите их или переведите в другую организацию",
    .immutable = s_organization_immutable,
    .validate = s_organization_validate,
    .territory = s_organization_territory,
    .layout = s_organization_layout,
    .list_match = s_organization_match,
};

/* ---------- staff member ---------- */

static const char *const s_staff_immutable[] = {"id",         "region_id", "municipality_ids", "version", "created_at",
                                                "updated_at", NULL};

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
    memset(out, 0, sizeof *out);
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
        snprintf(out->must_exist[i], REGISTRY_KEY_MAX, "reg:{r:%s}:org:%s", s->region_id, s->organization_ids[i]);
        out->must_exist_field[i] = "organizationIds";
        out->n_must_exist = i + 1;
    }
    for (size_t i = 0; i < s->n_municipality_ids && i < REGISTRY_MAX_ORGANIZATIONS; i++) {
        snprintf(key, sizeof key, "reg:{r:%s}:ix:staff:mun:%s", s->region_id, s->municipality_ids[i]);
        s_add_index(out, key, member);
        s_add_token(out, "mun", s->municipality_ids[i]);
    }
    /* A person with a history (qualification, memberships, practices) is made inactive, not deleted. */
    const char *guards[] = {"qual:staff", "member:staff", "practice:author"};
    for (size_t i = 0; i < sizeof guards / sizeof guards[0]; i++)
        snprintf(out->must_be_empty[i], REGISTRY_KEY_MAX, "reg:{r:%s}:ix:%s:%s", s->region_id, guards[i], s->id);
    out->n_must_be_empty = sizeof guards / sizeof guards[0];
    s_set_claim(out, &registry_staff_kind, s->region_id, s->external_id);
}

/* Birth date is personal data (152-ФЗ): school information systems read staff lists by API key
 * and have no need for it; people with a role in the methodological service do (young-teacher
 * indicators, mentoring). */
static void s_staff_redact(ProtobufCMessage *msg, const Metodnet__Principal *caller)
{
    if (caller->role == METODNET__ROLE__ROLE_SCHOOL_SYSTEM)
        pbfield_set_string(msg, "birth_date", "");
}

/* A teacher keeps their name and subjects current; position, category, organizations and the
 * qualification category are set by the school. */
static const char *const s_staff_self_editable[] = {"last_name", "first_name", "middle_name", "subjects", NULL};

const registry_kind registry_staff_kind = {
    .name = "staff",
    .json_field = "staff",
    .descriptor = &metodnet__staff_member__descriptor,
    .not_found_ru = "Сотрудник не найден",
    .exists_ru = "Сотрудник уже существует",
    .not_empty_ru = "У сотрудника есть записи о повышении квалификации, членстве в объединениях или практики: "
                    "вместо удаления отметьте его неактивным (active = false)",
    .immutable = s_staff_immutable,
    .self_editable = s_staff_self_editable,
    .needs_resolve = true,
    .validate = s_staff_validate,
    .territory = s_staff_territory,
    .layout = s_staff_layout,
    .redact = s_staff_redact,
};
