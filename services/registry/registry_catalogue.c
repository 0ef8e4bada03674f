/* registry_catalogue — keys, indexes, scope and validation of the catalogue kinds (see header). */
#include "registry_catalogue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dictionary.h"
#include "pbfield.h"
#include "pbjson.h"
#include "registry.pb-c.h"
#include "xalloc.h"

/* ---------- shared helpers ---------- */

static bool s_set(const char *s)
{
    return s != NULL && *s != '\0';
}
static bool s_eq(const char *a, const char *b)
{
    return s_set(a) && s_set(b) && strcmp(a, b) == 0;
}

static const char *s_word(const ProtobufCEnumDescriptor *desc, int value)
{
    const char *word = pbjson_enum_word(desc, value);
    return word ? word : "none";
}

static void s_replace(char **slot, const char *value)
{
    char *copy = xstrdup(value ? value : "");
    if (*slot != NULL && *slot != protobuf_c_empty_string)
        free(*slot);
    *slot = copy;
}

static void s_free_strings(char ***items, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*items)[i]);
    free(*items);
    *items = NULL;
    *n = 0;
}

static void s_copy_strings(char ***dst, size_t *n_dst, char *const *src, size_t n_src)
{
    s_free_strings(dst, n_dst);
    if (n_src == 0)
        return;
    *dst = xcalloc(n_src, sizeof **dst);
    for (size_t i = 0; i < n_src; i++) {
        (*dst)[i] = xstrdup(src[i]);
    }
    *n_dst = n_src;
}

/* An id of kind, with a violation naming field; empty is an error only when required. */
static bool s_check_id(validation *v, const char *field, const char *id, const registry_kind *kind, bool required,
                       const char *example)
{
    char key[REGISTRY_KEY_MAX];
    if (!s_set(id)) {
        if (required)
            validation_add(v, field, "Обязательное поле");
        return false;
    }
    if (!registry_entity_key(kind, id, key, sizeof key)) {
        validation_add(v, field, "Неверный идентификатор (ожидается вида «%s»)", example);
        return false;
    }
    return true;
}

/* Competence codes of the diagnostics framework: [a-z0-9_.-], 1..32. */
bool registry_code_valid(const char *code)
{
    size_t n = code ? strlen(code) : 0;
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = code[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

static void s_check_competences(validation *v, const char *field, char *const *codes, size_t n, size_t max)
{
    if (n > max)
        validation_add(v, field, "Не более %zu компетенций", max);
    for (size_t i = 0; i < n && i < max; i++) {
        char path[64];
        snprintf(path, sizeof path, "%s[%zu]", field, i);
        if (!registry_code_valid(codes[i]))
            validation_add(v, path, "Код компетенции — латинские строчные буквы, цифры, «_», «.», «-», до 32 знаков");
        for (size_t j = 0; j < i; j++)
            if (strcmp(codes[i], codes[j]) == 0)
                validation_add(v, path, "Компетенция указана дважды");
    }
}

static void s_check_subject(validation *v, const char *field, const char *subject)
{
    if (s_set(subject) && !dictionary_subject_known(subject))
        validation_add(v, field, "Неизвестный учебный предмет «%.60s»", subject);
}

bool registry_url_valid(const char *url, size_t max)
{
    size_t n = url ? strlen(url) : 0;
    if (n == 0 || n > max)
        return false;
    const char *rest;
    if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else
        return false;
    if (*rest == '\0' || *rest == '/' || *rest == '?' || *rest == '#' || *rest == '.')
        return false;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '<' || *p == '>' || *p == '\\')
            return false;
    return utf8_valid(url, n);
}

/* ---------- words (search) ---------- */

/* Length of the UTF-8 character at p when it is a letter or digit of a word (ASCII letters and digits,
 * Latin letters with diacritics, Cyrillic), else 0; *chars_out counts characters. Punctuation such as
 * «», —, “” separates words. */
static size_t s_word_char(const unsigned char *p)
{
    if ((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= '0' && p[0] <= '9'))
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF && (p[1] & 0xC0) == 0x80) {
        unsigned cp = ((unsigned)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
        if ((cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) || (cp >= 0x400 && cp <= 0x4FF))
            return 2;
    }
    return 0;
}

/* Length of the (possibly multibyte) character at p, at least 1. */
static size_t s_char_length(const unsigned char *p)
{
    size_t n = p[0] < 0x80 ? 1 : p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC0 ? 2 : 1;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return i;
    return n;
}

static int s_compare_words(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

size_t registry_words(const char *text, char words[][64], size_t max)
{
    char folded[4096];
    text_fold(text ? text : "", folded, sizeof folded);
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)folded;
    while (*p && n < max) {
        while (*p && s_word_char(p) == 0)
            p += s_char_length(p);
        char word[64];
        size_t len = 0, chars = 0, step;
        while (*p && (step = s_word_char(p)) > 0) {
            if (len + step < sizeof word) { /* longer words are cut at a character boundary */
                memcpy(word + len, p, step);
                len += step;
            }
            chars++;
            p += step;
        }
        word[len] = '\0';
        if (chars < 2)
            continue;
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = strcmp(words[i], word) == 0;
        if (!seen)
            memcpy(words[n++], word, len + 1);
    }
    qsort(words, n, sizeof words[0], s_compare_words);
    return n;
}

bool registry_text_matches(const char *text, const char *q)
{
    char text_words[REGISTRY_MAX_WORDS * 4][64], q_words[REGISTRY_MAX_WORDS][64];
    size_t nt = registry_words(text, text_words, REGISTRY_MAX_WORDS * 4);
    size_t nq = registry_words(q, q_words, REGISTRY_MAX_WORDS);
    for (size_t i = 0; i < nq; i++) {
        bool found = false;
        size_t len = strlen(q_words[i]);
        for (size_t j = 0; j < nt && !found; j++)
            found = strncmp(text_words[j], q_words[i], len) == 0;
        if (!found)
            return false;
    }
    return true;
}

void registry_query_key(const char *q, char *out, size_t size)
{
    char words[REGISTRY_MAX_WORDS][64];
    size_t n = registry_words(q, words, REGISTRY_MAX_WORDS);
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (strlen(words[i]) > strlen(words[best]))
            best = i;
    snprintf(out, size, "%s", n ? words[best] : "");
}

bool registry_word_first_seen(const char *text, const char *id, const char *prefix, const char *after_member)
{
    char words[REGISTRY_MAX_WORDS][64];
    size_t n = registry_words(text, words, REGISTRY_MAX_WORDS);
    size_t len = strlen(prefix);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(words[i], prefix, len) != 0)
            continue;
        if (after_member == NULL)
            return true;
        char member[REGISTRY_MEMBER_MAX];
        snprintf(member, sizeof member, "%s\x1f%s", words[i], id);
        return strcmp(member, after_member) > 0;
    }
    return false; /* not indexed under this prefix: never listed by it */
}

static void s_word_indexes(registry_layout *out, const char *key, const char *text, const char *id)
{
    char words[REGISTRY_MAX_WORDS][64];
    size_t n = registry_words(text, words, REGISTRY_MAX_WORDS);
    for (size_t i = 0; i < n; i++) {
        char member[REGISTRY_MEMBER_MAX];
        snprintf(member, sizeof member, "%s\x1f%s", words[i], id);
        registry_layout_index(out, key, member);
    }
}

/* "<date>\x1f<id>": chronological order. */
static void s_dated_member(char *out, size_t size, const char *date, const char *id)
{
    snprintf(out, size, "%s\x1f%s", s_set(date) ? date : "0000-00-00", id);
}

/* ---------- homes: organization, municipality or region ---------- */

typedef struct {
    Metodnet__HomeLevel level;
    const char *region_id;
    const char *municipality_id;
    const char *organization_id;
} home;

static void s_home_territory(const home *h, registry_territory *out)
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

/* Readers of the home read; writers of the home write, and a municipality's methodologists (and its
 * administrators) also write what the municipality itself owns. */
static bool s_home_allows(const Metodnet__Principal *caller, const home *h, scope_access access)
{
    if (h->level == METODNET__HOME_LEVEL__HOME_LEVEL_UNSPECIFIED || caller == NULL)
        return scope_is_global(caller);
    registry_territory t;
    s_home_territory(h, &t);
    if (scope_allows(caller, &t.object, access))
        return true;
    return access == SCOPE_WRITE && h->level == METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL &&
           caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY &&
           (caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST ||
            caller->role == METODNET__ROLE__ROLE_REGION_ADMIN || caller->role == METODNET__ROLE__ROLE_SYSTEM) &&
           s_eq(caller->region_id, h->region_id) && s_eq(caller->scope_id, h->municipality_id);
}

/* Everyone with a role in the region (person scope included) reads region-wide records. */
static bool s_region_reader(const Metodnet__Principal *caller, const char *region_id)
{
    if (scope_is_global(caller))
        return true;
    return caller != NULL && caller->role != METODNET__ROLE__ROLE_UNSPECIFIED && s_eq(caller->region_id, region_id);
}

/* Level and home fields; violations on level/organizationId/municipalityId/regionId. */
static void s_check_home(validation *v, Metodnet__HomeLevel level, const char *organization_id,
                         const char *municipality_id, const char *region_id, bool regional_allowed, bool creating)
{
    switch (level) {
    case METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL:
        s_check_id(v, "organizationId", organization_id, &registry_organization_kind, true, "07-o12");
        break;
    case METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL:
        s_check_id(v, "municipalityId", municipality_id, &registry_municipality_kind, true, "07-m1");
        if (s_set(organization_id))
            validation_add(v, "organizationId",
                           "У муниципального уровня нет организации: укажите только municipalityId");
        break;
    case METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL:
        if (!regional_allowed) {
            validation_add(v, "level", "Допустимые уровни: institutional или municipal");
            break;
        }
        if (s_set(organization_id) || (creating && s_set(municipality_id)))
            validation_add(v, s_set(organization_id) ? "organizationId" : "municipalityId",
                           "У регионального уровня нет организации и муниципалитета");
        if (creating && !s_set(region_id))
            validation_add(v, "regionId", "Укажите регион (regionId)");
        break;
    default:
        validation_add(v, "level",
                       regional_allowed ? "Укажите уровень: institutional, municipal или regional"
                                        : "Укажите уровень: institutional или municipal");
    }
}

static void s_home_layout(registry_layout *out, const char *segment, const home *h, const char *member)
{
    char key[REGISTRY_KEY_MAX];
    snprintf(key, sizeof key, "reg:{r:%s}:ix:%s", h->region_id, segment);
    registry_layout_index(out, key, member);
    registry_layout_token(out, "level", s_word(&metodnet__home_level__descriptor, h->level));
    if (h->level != METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL && s_set(h->municipality_id)) {
        snprintf(key, sizeof key, "reg:{r:%s}:ix:%s:mun:%s", h->region_id, segment, h->municipality_id);
        registry_layout_index(out, key, member);
        registry_layout_token(out, "mun", h->municipality_id);
    }
    if (h->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL && s_set(h->organization_id)) {
        snprintf(key, sizeof key, "reg:{r:%s}:ix:%s:org:%s", h->region_id, segment, h->organization_id);
        registry_layout_index(out, key, member);
        registry_layout_token(out, "org", h->organization_id);
    }
}

/* The home must exist: organization, municipality or region. */
static void s_home_must_exist(registry_layout *out, const home *h)
{
    if (h->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL)
        entity_layout_reference(out, "organizationId", "reg:{r:%s}:org:%s", h->region_id, h->organization_id);
    else if (h->level == METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL)
        entity_layout_reference(out, "municipalityId", "reg:{r:%s}:mun:%s", h->region_id, h->municipality_id);
    else
        entity_layout_reference(out, "regionId", "reg:{g}:region:%s", h->region_id);
}

static void s_staff_must_exist(registry_layout *out, const char *region, const char *staff_id, const char *field)
{
    if (s_set(staff_id))
        entity_layout_reference(out, field, "reg:{r:%s}:staff:%s", region, staff_id);
}

static size_t s_add_reference(registry_reference *out, size_t n, size_t max, const registry_kind *kind, const char *id,
                              const char *field, bool visible)
{
    if (!s_set(id) || n >= max)
        return n;
    out[n].kind = kind;
    snprintf(out[n].id, sizeof out[n].id, "%s", id);
    snprintf(out[n].field, sizeof out[n].field, "%s", field);
    out[n].visible = visible;
    return n + 1;
}

/* ---------- association ---------- */

static home s_association_home(const Metodnet__Association *a)
{
    return (home){a->level, a->region_id, a->municipality_id, a->organization_id};
}

static const char *const s_association_immutable[] = {
    "id", "region_id", "level", "organization_id", "municipality_id", "version", "created_at", "updated_at", NULL};

static void s_association_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    const Metodnet__Association *a = (const Metodnet__Association *)msg;
    validate_text(v, "name", a->name, 300, true);
    if (a->kind == METODNET__ASSOCIATION_KIND__ASSOCIATION_KIND_UNSPECIFIED)
        validation_add(v, "kind",
                       "Укажите вид: methodological_association, professional_community, "
                       "network_community, creative_group или project_group");
    s_check_home(v, a->level, a->organization_id, a->municipality_id, a->region_id, true, creating);
    s_check_subject(v, "subject", a->subject);
    validate_text(v, "theme", a->theme, 500, false);
    if (!s_set(a->subject) && !s_set(a->theme))
        validation_add(v, "theme", "Укажите учебный предмет (subject) или тему (theme)");
    s_check_id(v, "leaderStaffId", a->leader_staff_id, &registry_staff_kind, false, "07-s12");
    validate_text(v, "description", a->description, 4000, false);
}

static void s_association_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    home h = s_association_home((const Metodnet__Association *)msg);
    s_home_territory(&h, out);
}

static bool s_association_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    home h = s_association_home((const Metodnet__Association *)msg);
    return s_home_allows(caller, &h, access);
}

static void s_association_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__Association *a = (const Metodnet__Association *)msg;
    home h = s_association_home(a);
    char member[REGISTRY_MEMBER_MAX];
    registry_sort_member(member, sizeof member, a->name, a->id);
    s_home_layout(out, "assoc", &h, member);
    registry_layout_token(out, "kind", s_word(&metodnet__association_kind__descriptor, a->kind));
    registry_layout_token(out, "net", a->network ? "true" : "false");
    if (s_set(a->subject))
        registry_layout_token(out, "subj", a->subject);
    s_home_must_exist(out, &h);
    s_staff_must_exist(out, a->region_id, a->leader_staff_id, "leaderStaffId");
    /* the membership history keeps an association */
    entity_layout_guard(out, "reg:{r:%s}:ix:member:assoc:%s", a->region_id, a->id);
}

static size_t s_association_references(const ProtobufCMessage *msg, registry_reference *out, size_t max)
{
    const Metodnet__Association *a = (const Metodnet__Association *)msg;
    size_t n = 0;
    if (a->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL)
        n = s_add_reference(out, n, max, &registry_organization_kind, a->organization_id, "organizationId", true);
    n = s_add_reference(out, n, max, &registry_staff_kind, a->leader_staff_id, "leaderStaffId", true);
    return n;
}

static void s_association_apply(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index;
    (void)v;
    Metodnet__Association *a = (Metodnet__Association *)msg;
    if (loaded->descriptor == &metodnet__organization__descriptor)
        s_replace(&a->municipality_id, ((const Metodnet__Organization *)loaded)->municipality_id);
}

static void s_association_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__Association *a = (Metodnet__Association *)msg;
    if (a->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL)
        s_replace(&a->municipality_id, ""); /* derived from the organization */
}

/* ---------- what every catalogue kind shares ---------- */

/* A new record's region: the home or the record referred to, else the region given. */
static const char *const s_region_fields[] = {"organization_id", "municipality_id", "association_id", "council_id",
                                              "staff_id",        "author_staff_id", "region_id",      NULL};
/* Nested paths (…/associations/{association_id}/members, …/councils/{council_id}/meetings). */
static const char *const s_path_parents[] = {"association_id", "council_id", NULL};

#define FILTERS(table) .filters = table, .n_filters = sizeof table / sizeof table[0]
#define INDEXES(table) .list_indexes = table, .n_list_indexes = sizeof table / sizeof table[0]
#define CATALOGUE_KIND .prefix = "reg", .region_fields = s_region_fields, .path_parents = s_path_parents

static const entity_filter s_association_filters[] = {
    {.field = "level", .token = "level", .words = &metodnet__home_level__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "kind", .token = "kind", .words = &metodnet__association_kind__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "subject", .token = "subj", .check = ENTITY_FILTER_SUBJECT},
    {.field = "network", .token = "net", .check = ENTITY_FILTER_BOOL},
    {.field = "municipality_id", .token = "mun", .check = ENTITY_FILTER_ID},
    {.field = "organization_id", .token = "org", .check = ENTITY_FILTER_ID},
};
static const entity_list_index s_association_indexes[] = {
    {.field = "organization_id", .index = "assoc:org"},
    {.field = "municipality_id", .index = "assoc:mun"},
};

const registry_kind registry_association_kind = {
    CATALOGUE_KIND,
    .name = "assoc",
    .audit_name = "association",
    FILTERS(s_association_filters),
    INDEXES(s_association_indexes),
    .json_field = "association",
    .descriptor = &metodnet__association__descriptor,
    .not_found_ru = "Объединение не найдено",
    .exists_ru = "Объединение уже существует",
    .not_empty_ru = "У объединения есть история членства: удалить его нельзя",
    .immutable = s_association_immutable,
    .validate = s_association_validate,
    .territory = s_association_territory,
    .layout = s_association_layout,
    .allows = s_association_allows,
    .list_unnarrowed = true,
    .references = s_association_references,
    .apply_reference = s_association_apply,
    .on_create = s_association_on_create,
};

/* ---------- membership ---------- */

static home s_membership_home(const Metodnet__AssociationMembership *m)
{
    return (home){m->level, m->region_id, m->municipality_id, m->organization_id};
}

static const char *const s_membership_immutable[] = {
    "id",      "region_id",  "association_id", "staff_id", "level", "organization_id", "municipality_id",
    "version", "created_at", "updated_at",     NULL};

static void s_membership_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__AssociationMembership *m = (const Metodnet__AssociationMembership *)msg;
    s_check_id(v, "associationId", m->association_id, &registry_association_kind, true, "07-a3");
    s_check_id(v, "staffId", m->staff_id, &registry_staff_kind, true, "07-s12");
    int joined = 0, left = 0;
    bool joined_ok = validate_date(v, "joinedOn", m->joined_on, true, &joined);
    if (validate_date(v, "leftOn", m->left_on, false, &left) && joined_ok && s_set(m->left_on) && left <= joined)
        validation_add(v, "leftOn", "Дата выхода должна быть позже даты вступления");
}

static void s_membership_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    home h = s_membership_home((const Metodnet__AssociationMembership *)msg);
    s_home_territory(&h, out);
}

static bool s_membership_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    const Metodnet__AssociationMembership *m = (const Metodnet__AssociationMembership *)msg;
    home h = s_membership_home(m);
    if (s_home_allows(caller, &h, access))
        return true;
    /* a person reads their own memberships */
    return access == SCOPE_READ && caller != NULL && caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF &&
           s_eq(caller->region_id, m->region_id) && s_eq(caller->scope_id, m->staff_id);
}

/* The caller's scope contains the home (not merely lies inside the territory of it). */
static bool s_home_covered(const Metodnet__Principal *caller, const home *h)
{
    if (scope_is_global(caller))
        return true;
    if (caller == NULL || !s_eq(caller->region_id, h->region_id))
        return false;
    switch (caller->scope_kind) {
    case METODNET__SCOPE_KIND__SCOPE_KIND_REGION:
        return s_eq(caller->scope_id, h->region_id);
    case METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY:
        return h->level != METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL && s_eq(caller->scope_id, h->municipality_id);
    case METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION:
        return h->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL && s_eq(caller->scope_id, h->organization_id);
    default:
        return false;
    }
}

bool registry_membership_needs_person(const Metodnet__Principal *caller, const ProtobufCMessage *msg)
{
    const Metodnet__AssociationMembership *m = (const Metodnet__AssociationMembership *)msg;
    home h = s_membership_home(m);
    if (s_home_covered(caller, &h))
        return false;
    return !(caller != NULL && caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF &&
             s_eq(caller->scope_id, m->staff_id));
}

static void s_membership_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__AssociationMembership *m = (const Metodnet__AssociationMembership *)msg;
    char key[REGISTRY_KEY_MAX], member[REGISTRY_MEMBER_MAX];
    s_dated_member(member, sizeof member, m->joined_on, m->id);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:member", m->region_id);
    registry_layout_index(out, key, member);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:member:assoc:%s", m->region_id, m->association_id);
    registry_layout_index(out, key, member);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:member:staff:%s", m->region_id, m->staff_id);
    registry_layout_index(out, key, member);
    registry_layout_token(out, "assoc", m->association_id);
    registry_layout_token(out, "staff", m->staff_id);
    registry_layout_token(out, "left", s_set(m->left_on) ? "true" : "false");
    if (!s_set(m->left_on)) { /* one open membership per person and association */
        char pair[160];
        snprintf(pair, sizeof pair, "%s:%s", m->association_id, m->staff_id);
        entity_layout_claim(out, REGISTRY_OPEN_MEMBERSHIP_CLAIM, pair, "reg:{r:%s}:claim:member:%s", m->region_id,
                            REGISTRY_OPEN_MEMBERSHIP_CLAIM);
    }
    entity_layout_reference(out, "associationId", "reg:{r:%s}:assoc:%s", m->region_id, m->association_id);
    s_staff_must_exist(out, m->region_id, m->staff_id, "staffId");
}

static size_t s_membership_references(const ProtobufCMessage *msg, registry_reference *out, size_t max)
{
    const Metodnet__AssociationMembership *m = (const Metodnet__AssociationMembership *)msg;
    size_t n = s_add_reference(out, 0, max, &registry_association_kind, m->association_id, "associationId", true);
    return s_add_reference(out, n, max, &registry_staff_kind, m->staff_id, "staffId", true);
}

static void s_membership_apply(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index;
    (void)v;
    Metodnet__AssociationMembership *m = (Metodnet__AssociationMembership *)msg;
    if (loaded->descriptor != &metodnet__association__descriptor)
        return;
    const Metodnet__Association *a = (const Metodnet__Association *)loaded;
    m->level = a->level;
    s_replace(&m->organization_id, a->organization_id);
    s_replace(&m->municipality_id, a->municipality_id);
}

static void s_membership_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__AssociationMembership *m = (Metodnet__AssociationMembership *)msg;
    m->level = METODNET__HOME_LEVEL__HOME_LEVEL_UNSPECIFIED; /* copied from the association */
    s_replace(&m->organization_id, "");
    s_replace(&m->municipality_id, "");
}

/* Active on a date, or at some time in [from, to]; left_on is the first day outside. */
static bool s_membership_match(const ProtobufCMessage *msg, const ProtobufCMessage *request, const char *after)
{
    (void)after;
    const Metodnet__AssociationMembership *m = (const Metodnet__AssociationMembership *)msg;
    const Metodnet__ListMembershipsRequest *r = (const Metodnet__ListMembershipsRequest *)request;
    int joined = 0, left = 0, day;
    if (!date_parse(m->joined_on, &joined))
        return false;
    bool open = !s_set(m->left_on) || !date_parse(m->left_on, &left);
    if (s_set(r->on) && date_parse(r->on, &day) && (day < joined || (!open && day >= left)))
        return false;
    if (s_set(r->to) && date_parse(r->to, &day) && joined > day)
        return false;
    if (s_set(r->from) && date_parse(r->from, &day) && !open && left <= day)
        return false;
    if (s_set(r->association_id) && strcmp(r->association_id, m->association_id) != 0)
        return false;
    if (s_set(r->staff_id) && strcmp(r->staff_id, m->staff_id) != 0)
        return false;
    return true;
}

static registry_transition_result s_membership_leave(const ProtobufCMessage *request, ProtobufCMessage *next,
                                                     const Metodnet__Principal *caller, const char *now, validation *v,
                                                     const char **conflict_ru)
{
    (void)caller;
    (void)now;
    const Metodnet__LeaveMembershipRequest *r = (const Metodnet__LeaveMembershipRequest *)request;
    Metodnet__AssociationMembership *m = (Metodnet__AssociationMembership *)next;
    if (s_set(m->left_on)) {
        *conflict_ru = "Сотрудник уже вышел из объединения по этой записи; новое вступление — новая запись";
        return REGISTRY_TRANSITION_CONFLICT;
    }
    int joined = 0, left = 0;
    if (!validate_date(v, "leftOn", r->left_on, true, &left))
        return REGISTRY_TRANSITION_INVALID;
    if (date_parse(m->joined_on, &joined) && left <= joined) {
        validation_add(v, "leftOn", "Дата выхода должна быть позже даты вступления (%s)", m->joined_on);
        return REGISTRY_TRANSITION_INVALID;
    }
    s_replace(&m->left_on, r->left_on);
    return REGISTRY_TRANSITION_OK;
}

static const entity_filter s_membership_filters[] = {
    {.field = "association_id", .token = "assoc", .check = ENTITY_FILTER_ID},
    {.field = "staff_id", .token = "staff", .check = ENTITY_FILTER_ID},
    {.field = "on", .check = ENTITY_FILTER_DATE},
    {.field = "from", .check = ENTITY_FILTER_DATE},
    {.field = "to", .check = ENTITY_FILTER_DATE},
};
static const entity_list_index s_membership_indexes[] = {
    {.field = "association_id", .index = "member:assoc"},
    {.field = "staff_id", .index = "member:staff"},
};
static const entity_list_parent s_membership_parents[] = {
    {.field = "association_id", .kind = &registry_association_kind},
    {.field = "staff_id", .kind = &registry_staff_kind},
};

const registry_kind registry_membership_kind = {
    CATALOGUE_KIND,
    .name = "member",
    .audit_name = "membership",
    FILTERS(s_membership_filters),
    INDEXES(s_membership_indexes),
    .list_parents = s_membership_parents,
    .n_list_parents = sizeof s_membership_parents / sizeof s_membership_parents[0],
    .through_needed = registry_membership_needs_person,
    .through_field = "staff_id",
    .through_kind = &registry_staff_kind,
    .id_letter = 'j',
    .json_field = "membership",
    .descriptor = &metodnet__association_membership__descriptor,
    .not_found_ru = "Запись о членстве не найдена",
    .exists_ru = "Сотрудник уже состоит в этом объединении: сначала отметьте выход",
    .not_empty_ru = "",
    .immutable = s_membership_immutable,
    .validate = s_membership_validate,
    .territory = s_membership_territory,
    .layout = s_membership_layout,
    .allows = s_membership_allows,
    .list_unnarrowed = true,
    .references = s_membership_references,
    .apply_reference = s_membership_apply,
    .list_match = s_membership_match,
    .transition = s_membership_leave,
    .on_create = s_membership_on_create,
};

/* ---------- council ---------- */

static home s_council_home(const Metodnet__Council *c)
{
    return (home){c->level, c->region_id, c->municipality_id, c->organization_id};
}

static const char *const s_council_immutable[] = {
    "id", "region_id", "level", "organization_id", "municipality_id", "version", "created_at", "updated_at", NULL};

#define COUNCIL_MAX_MEMBERS 100

static void s_council_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    const Metodnet__Council *c = (const Metodnet__Council *)msg;
    validate_text(v, "name", c->name, 300, true);
    s_check_home(v, c->level, c->organization_id, c->municipality_id, c->region_id, false, creating);
    s_check_id(v, "chairStaffId", c->chair_staff_id, &registry_staff_kind, true, "07-s12");
    s_check_id(v, "deputyStaffId", c->deputy_staff_id, &registry_staff_kind, false, "07-s12");
    s_check_id(v, "secretaryStaffId", c->secretary_staff_id, &registry_staff_kind, false, "07-s12");
    if (s_eq(c->chair_staff_id, c->deputy_staff_id))
        validation_add(v, "deputyStaffId", "Заместитель председателя не может быть председателем");
    if (s_eq(c->chair_staff_id, c->secretary_staff_id) || s_eq(c->deputy_staff_id, c->secretary_staff_id))
        validation_add(v, "secretaryStaffId", "Секретарь — отдельный член совета (§2.3)");
    if (c->n_member_staff_ids > COUNCIL_MAX_MEMBERS)
        validation_add(v, "memberStaffIds", "Не более %d членов совета", COUNCIL_MAX_MEMBERS);
    for (size_t i = 0; i < c->n_member_staff_ids && i < COUNCIL_MAX_MEMBERS; i++) {
        char field[48];
        snprintf(field, sizeof field, "memberStaffIds[%zu]", i);
        s_check_id(v, field, c->member_staff_ids[i], &registry_staff_kind, true, "07-s12");
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->member_staff_ids[i], c->member_staff_ids[j]) == 0)
                validation_add(v, field, "Сотрудник указан дважды");
    }
    validate_text(v, "approvedBy", c->approved_by, 500, false);
}

static void s_council_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    home h = s_council_home((const Metodnet__Council *)msg);
    s_home_territory(&h, out);
}

static bool s_council_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    home h = s_council_home((const Metodnet__Council *)msg);
    return s_home_allows(caller, &h, access);
}

static void s_council_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__Council *c = (const Metodnet__Council *)msg;
    home h = s_council_home(c);
    char member[REGISTRY_MEMBER_MAX];
    registry_sort_member(member, sizeof member, c->name, c->id);
    s_home_layout(out, "council", &h, member);
    s_home_must_exist(out, &h);
    s_staff_must_exist(out, c->region_id, c->chair_staff_id, "chairStaffId");
    s_staff_must_exist(out, c->region_id, c->deputy_staff_id, "deputyStaffId");
    s_staff_must_exist(out, c->region_id, c->secretary_staff_id, "secretaryStaffId");
    entity_layout_guard(out, "reg:{r:%s}:ix:meeting:council:%s", c->region_id, c->id);
}

static size_t s_council_references(const ProtobufCMessage *msg, registry_reference *out, size_t max)
{
    const Metodnet__Council *c = (const Metodnet__Council *)msg;
    size_t n = 0;
    if (c->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL)
        n = s_add_reference(out, n, max, &registry_organization_kind, c->organization_id, "organizationId", true);
    n = s_add_reference(out, n, max, &registry_staff_kind, c->chair_staff_id, "chairStaffId", true);
    n = s_add_reference(out, n, max, &registry_staff_kind, c->deputy_staff_id, "deputyStaffId", true);
    n = s_add_reference(out, n, max, &registry_staff_kind, c->secretary_staff_id, "secretaryStaffId", true);
    for (size_t i = 0; i < c->n_member_staff_ids && i < COUNCIL_MAX_MEMBERS; i++) {
        char field[48];
        snprintf(field, sizeof field, "memberStaffIds[%zu]", i);
        n = s_add_reference(out, n, max, &registry_staff_kind, c->member_staff_ids[i], field, true);
    }
    return n;
}

static void s_council_apply(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index;
    (void)v;
    Metodnet__Council *c = (Metodnet__Council *)msg;
    if (loaded->descriptor == &metodnet__organization__descriptor)
        s_replace(&c->municipality_id, ((const Metodnet__Organization *)loaded)->municipality_id);
}

static void s_council_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__Council *c = (Metodnet__Council *)msg;
    if (c->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL)
        s_replace(&c->municipality_id, "");
}

static const entity_filter s_council_filters[] = {
    {.field = "level", .token = "level", .words = &metodnet__home_level__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "municipality_id", .token = "mun", .check = ENTITY_FILTER_ID},
    {.field = "organization_id", .token = "org", .check = ENTITY_FILTER_ID},
};
static const entity_list_index s_council_indexes[] = {
    {.field = "organization_id", .index = "council:org"},
    {.field = "municipality_id", .index = "council:mun"},
};

const registry_kind registry_council_kind = {
    CATALOGUE_KIND,
    .name = "council",
    FILTERS(s_council_filters),
    INDEXES(s_council_indexes),
    .json_field = "council",
    .descriptor = &metodnet__council__descriptor,
    .not_found_ru = "Методический совет не найден",
    .exists_ru = "Методический совет уже существует",
    .not_empty_ru = "У совета есть заседания: сначала удалите их",
    .immutable = s_council_immutable,
    .validate = s_council_validate,
    .territory = s_council_territory,
    .layout = s_council_layout,
    .allows = s_council_allows,
    .list_unnarrowed = true,
    .references = s_council_references,
    .apply_reference = s_council_apply,
    .on_create = s_council_on_create,
};

/* ---------- council meeting ---------- */

static home s_meeting_home(const Metodnet__CouncilMeeting *m)
{
    return (home){m->level, m->region_id, m->municipality_id, m->organization_id};
}

static const char *const s_meeting_immutable[] = {
    "id",      "region_id",  "council_id", "level", "organization_id", "municipality_id",
    "version", "created_at", "updated_at", NULL};

#define MEETING_MAX_AGENDA    40
#define MEETING_MAX_ATTENDEES 150

static void s_meeting_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__CouncilMeeting *m = (const Metodnet__CouncilMeeting *)msg;
    s_check_id(v, "councilId", m->council_id, &registry_council_kind, true, "07-c2");
    validate_date(v, "heldOn", m->held_on, true, NULL);
    if (m->n_agenda == 0)
        validation_add(v, "agenda", "Укажите повестку: хотя бы один вопрос");
    if (m->n_agenda > MEETING_MAX_AGENDA)
        validation_add(v, "agenda", "Не более %d вопросов повестки", MEETING_MAX_AGENDA);
    for (size_t i = 0; i < m->n_agenda && i < MEETING_MAX_AGENDA; i++) {
        char field[64];
        snprintf(field, sizeof field, "agenda[%zu].title", i);
        validate_text(v, field, m->agenda[i]->title, 500, true);
        snprintf(field, sizeof field, "agenda[%zu].speakerStaffId", i);
        s_check_id(v, field, m->agenda[i]->speaker_staff_id, &registry_staff_kind, false, "07-s12");
        snprintf(field, sizeof field, "agenda[%zu].decision", i);
        validate_text(v, field, m->agenda[i]->decision, 4000, false);
    }
    if (m->n_attendee_staff_ids > MEETING_MAX_ATTENDEES)
        validation_add(v, "attendeeStaffIds", "Не более %d участников", MEETING_MAX_ATTENDEES);
    for (size_t i = 0; i < m->n_attendee_staff_ids && i < MEETING_MAX_ATTENDEES; i++) {
        char field[48];
        snprintf(field, sizeof field, "attendeeStaffIds[%zu]", i);
        s_check_id(v, field, m->attendee_staff_ids[i], &registry_staff_kind, true, "07-s12");
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->attendee_staff_ids[i], m->attendee_staff_ids[j]) == 0)
                validation_add(v, field, "Участник указан дважды");
    }
    if (m->n_invited > 50)
        validation_add(v, "invited", "Не более 50 приглашённых");
    for (size_t i = 0; i < m->n_invited && i < 50; i++) {
        char field[48];
        snprintf(field, sizeof field, "invited[%zu]", i);
        validate_text(v, field, m->invited[i], 300, true);
    }
    validate_text(v, "decisions", m->decisions, 20000, false);
    validate_text(v, "minutesNumber", m->minutes_number, 50, false);
}

static void s_meeting_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    home h = s_meeting_home((const Metodnet__CouncilMeeting *)msg);
    s_home_territory(&h, out);
}

static bool s_meeting_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    home h = s_meeting_home((const Metodnet__CouncilMeeting *)msg);
    return s_home_allows(caller, &h, access);
}

static void s_meeting_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__CouncilMeeting *m = (const Metodnet__CouncilMeeting *)msg;
    char key[REGISTRY_KEY_MAX], member[REGISTRY_MEMBER_MAX];
    s_dated_member(member, sizeof member, m->held_on, m->id);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:meeting", m->region_id);
    registry_layout_index(out, key, member);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:meeting:council:%s", m->region_id, m->council_id);
    registry_layout_index(out, key, member);
    registry_layout_token(out, "council", m->council_id);
    if (s_set(m->municipality_id))
        registry_layout_token(out, "mun", m->municipality_id);
    if (s_set(m->organization_id))
        registry_layout_token(out, "org", m->organization_id);
    entity_layout_reference(out, "councilId", "reg:{r:%s}:council:%s", m->region_id, m->council_id);
}

static size_t s_meeting_references(const ProtobufCMessage *msg, registry_reference *out, size_t max)
{
    const Metodnet__CouncilMeeting *m = (const Metodnet__CouncilMeeting *)msg;
    size_t n = s_add_reference(out, 0, max, &registry_council_kind, m->council_id, "councilId", true);
    for (size_t i = 0; i < m->n_attendee_staff_ids && i < MEETING_MAX_ATTENDEES; i++) {
        char field[48];
        snprintf(field, sizeof field, "attendeeStaffIds[%zu]", i);
        n = s_add_reference(out, n, max, &registry_staff_kind, m->attendee_staff_ids[i], field, true);
    }
    for (size_t i = 0; i < m->n_agenda && i < MEETING_MAX_AGENDA; i++) {
        char field[64];
        snprintf(field, sizeof field, "agenda[%zu].speakerStaffId", i);
        n = s_add_reference(out, n, max, &registry_staff_kind, m->agenda[i]->speaker_staff_id, field, true);
    }
    return n;
}

static void s_meeting_apply(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index;
    (void)v;
    Metodnet__CouncilMeeting *m = (Metodnet__CouncilMeeting *)msg;
    if (loaded->descriptor != &metodnet__council__descriptor)
        return;
    const Metodnet__Council *c = (const Metodnet__Council *)loaded;
    m->level = c->level;
    s_replace(&m->organization_id, c->organization_id);
    s_replace(&m->municipality_id, c->municipality_id);
}

static void s_meeting_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__CouncilMeeting *m = (Metodnet__CouncilMeeting *)msg;
    m->level = METODNET__HOME_LEVEL__HOME_LEVEL_UNSPECIFIED;
    s_replace(&m->organization_id, "");
    s_replace(&m->municipality_id, "");
}

static bool s_meeting_match(const ProtobufCMessage *msg, const ProtobufCMessage *request, const char *after)
{
    (void)after;
    const Metodnet__CouncilMeeting *m = (const Metodnet__CouncilMeeting *)msg;
    const Metodnet__ListCouncilMeetingsRequest *r = (const Metodnet__ListCouncilMeetingsRequest *)request;
    if (s_set(r->from) && strcmp(m->held_on, r->from) < 0) /* YYYY-MM-DD compares as text */
        return false;
    if (s_set(r->to) && strcmp(m->held_on, r->to) > 0)
        return false;
    return true;
}

static const entity_filter s_meeting_filters[] = {
    {.field = "council_id", .token = "council", .check = ENTITY_FILTER_ID},
    {.field = "from", .check = ENTITY_FILTER_DATE},
    {.field = "to", .check = ENTITY_FILTER_DATE},
};
static const entity_list_index s_meeting_indexes[] = {
    {.field = "council_id", .index = "meeting:council"},
};

const registry_kind registry_meeting_kind = {
    CATALOGUE_KIND,
    .name = "meeting",
    FILTERS(s_meeting_filters),
    INDEXES(s_meeting_indexes),
    .id_letter = 'k',
    .json_field = "meeting",
    .descriptor = &metodnet__council_meeting__descriptor,
    .not_found_ru = "Заседание не найдено",
    .exists_ru = "Заседание уже существует",
    .not_empty_ru = "",
    .immutable = s_meeting_immutable,
    .validate = s_meeting_validate,
    .territory = s_meeting_territory,
    .layout = s_meeting_layout,
    .allows = s_meeting_allows,
    .list_unnarrowed = true,
    .references = s_meeting_references,
    .apply_reference = s_meeting_apply,
    .list_match = s_meeting_match,
    .on_create = s_meeting_on_create,
};

/* ---------- programme ---------- */

static const char *const s_programme_immutable[] = {"id", "region_id", "version", "created_at", "updated_at", NULL};

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
    s_check_competences(v, "competences", p->competences, p->n_competences, 30);
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
    if (s_set(p->url) && !registry_url_valid(p->url, 2000))
        validation_add(v, "url", "Ссылка должна начинаться с http:// или https:// и не содержать пробелов");
}

static void s_programme_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    memset(out, 0, sizeof *out);
    out->object.region_id = ((const Metodnet__Programme *)msg)->region_id;
}

static bool s_programme_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    const Metodnet__Programme *p = (const Metodnet__Programme *)msg;
    if (access == SCOPE_READ)
        return s_region_reader(caller, p->region_id);
    registry_territory t;
    s_programme_territory(msg, &t);
    return scope_allows(caller, &t.object, SCOPE_WRITE); /* the region's administrators */
}

static void s_programme_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__Programme *p = (const Metodnet__Programme *)msg;
    char key[REGISTRY_KEY_MAX], member[REGISTRY_MEMBER_MAX];
    registry_sort_member(member, sizeof member, p->title, p->id);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:programme", p->region_id);
    registry_layout_index(out, key, member);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:programme:word", p->region_id);
    s_word_indexes(out, key, p->title, p->id);
    registry_layout_token(out, "fr", p->federal_registry ? "true" : "false");
    registry_layout_token(out, "format", s_word(&metodnet__programme_format__descriptor, p->format));
    for (size_t i = 0; i < p->n_competences; i++)
        registry_layout_token(out, "comp", p->competences[i]);
    for (size_t i = 0; i < p->n_tags; i++) {
        char folded[256];
        text_fold(p->tags[i], folded, sizeof folded);
        registry_layout_token(out, "tag", folded);
    }
    entity_layout_reference(out, "regionId", "reg:{g}:region:%s", p->region_id);
    entity_layout_guard(out, "reg:{r:%s}:ix:qual:prog:%s", p->region_id, p->id);
}

static bool s_programme_match(const ProtobufCMessage *msg, const ProtobufCMessage *request, const char *after)
{
    const Metodnet__Programme *p = (const Metodnet__Programme *)msg;
    const char *q = ((const Metodnet__ListProgrammesRequest *)request)->q;
    if (!s_set(q))
        return true;
    char key[64];
    registry_query_key(q, key, sizeof key);
    return registry_text_matches(p->title, q) && registry_word_first_seen(p->title, p->id, key, after);
}

static const entity_filter s_programme_filters[] = {
    {.field = "competence", .token = "comp", .check = ENTITY_FILTER_CUSTOM, .valid = registry_code_valid},
    {.field = "tag", .token = "tag", .check = ENTITY_FILTER_TEXT},
    {.field = "federal_registry", .token = "fr", .check = ENTITY_FILTER_BOOL},
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
    s_check_id(v, "staffId", q->staff_id, &registry_staff_kind, true, "07-s12");
    s_check_id(v, "programmeId", q->programme_id, &registry_programme_kind, false, "07-p3");
    validate_text(v, "programmeTitle", q->programme_title, 500, !s_set(q->programme_id));
    int done = 0;
    if (validate_date(v, "completedOn", q->completed_on, true, &done) && done > date_today())
        validation_add(v, "completedOn", "Дата окончания обучения не может быть в будущем");
    if (q->hours < 0 || q->hours > 3000 || (q->hours == 0 && !s_set(q->programme_id)))
        validation_add(v, "hours", "Объём обучения — от 1 до 3000 часов");
    validate_text(v, "documentNumber", q->document_number, 64, false);
    const char *source = s_set(q->source) ? q->source : "manual";
    bool route = strcmp(source, "route") == 0;
    if (!route && strcmp(source, "manual") != 0 && strcmp(source, "import") != 0)
        validation_add(v, "source", "Источник: manual, route или import");
    if (route)
        validate_id(v, "routeItemId", q->route_item_id, true);
    if (!route && s_set(q->route_item_id))
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
    s_dated_member(member, sizeof member, q->completed_on, q->id);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:qual", q->region_id);
    registry_layout_index(out, key, member);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:qual:staff:%s", q->region_id, q->staff_id);
    registry_layout_index(out, key, member);
    registry_layout_token(out, "staff", q->staff_id);
    registry_layout_token(out, "src", s_set(q->source) ? q->source : "manual");
    for (size_t i = 0; i < q->n_organization_ids && i < REGISTRY_MAX_ORGANIZATIONS; i++)
        registry_layout_token(out, "org", q->organization_ids[i]);
    for (size_t i = 0; i < q->n_municipality_ids && i < REGISTRY_MAX_ORGANIZATIONS; i++)
        registry_layout_token(out, "mun", q->municipality_ids[i]);
    s_staff_must_exist(out, q->region_id, q->staff_id, "staffId");
    if (s_set(q->programme_id)) {
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
    size_t n = s_add_reference(out, 0, max, &registry_staff_kind, q->staff_id, "staffId", true);
    return s_add_reference(out, n, max, &registry_programme_kind, q->programme_id, "programmeId", true);
}

static void s_qualification_apply(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index;
    Metodnet__QualificationRecord *q = (Metodnet__QualificationRecord *)msg;
    if (loaded->descriptor == &metodnet__staff_member__descriptor) {
        const Metodnet__StaffMember *s = (const Metodnet__StaffMember *)loaded;
        s_copy_strings(&q->organization_ids, &q->n_organization_ids, s->organization_ids, s->n_organization_ids);
        s_copy_strings(&q->municipality_ids, &q->n_municipality_ids, s->municipality_ids, s->n_municipality_ids);
    } else if (loaded->descriptor == &metodnet__programme__descriptor) {
        const Metodnet__Programme *p = (const Metodnet__Programme *)loaded;
        if (!s_set(q->programme_title))
            s_replace(&q->programme_title, p->title);
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
    if (!s_set(q->source))
        s_replace(&q->source, "manual");
    s_free_strings(&q->organization_ids, &q->n_organization_ids);
    s_free_strings(&q->municipality_ids, &q->n_municipality_ids);
}

static const entity_filter s_qualification_filters[] = {
    {.field = "staff_id", .token = "staff", .check = ENTITY_FILTER_ID},
    {.field = "programme_id", .token = "prog", .check = ENTITY_FILTER_ID},
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

/* ---------- practice ---------- */

static const char *const s_practice_immutable[] = {
    "id",      "region_id",    "author_staff_id", "organization_id", "municipality_id", "status",
    "reviews", "published_at", "version",         "created_at",      "updated_at",      NULL};

#define PRACTICE_MAX_ATTACHMENTS 10
#define PRACTICE_MAX_REVIEWS     100

static void s_practice_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__Practice *p = (const Metodnet__Practice *)msg;
    validate_text(v, "title", p->title, 500, true);
    s_check_id(v, "authorStaffId", p->author_staff_id, &registry_staff_kind, true, "07-s12");
    s_check_id(v, "organizationId", p->organization_id, &registry_organization_kind, false, "07-o12");
    s_check_subject(v, "subject", p->subject);
    s_check_competences(v, "competences", p->competences, p->n_competences, 20);
    validate_text(v, "description", p->description, 20000, true);
    if (p->n_attachments > PRACTICE_MAX_ATTACHMENTS)
        validation_add(v, "attachments", "Не более %d ссылок на материалы", PRACTICE_MAX_ATTACHMENTS);
    for (size_t i = 0; i < p->n_attachments && i < PRACTICE_MAX_ATTACHMENTS; i++) {
        char field[48];
        snprintf(field, sizeof field, "attachments[%zu]", i);
        if (!registry_url_valid(p->attachments[i], 2000))
            validation_add(v, field, "Ссылка должна начинаться с http:// или https:// и не содержать пробелов");
    }
}

static void s_practice_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    const Metodnet__Practice *p = (const Metodnet__Practice *)msg;
    memset(out, 0, sizeof *out);
    out->object.region_id = p->region_id;
    if (s_set(p->municipality_id)) {
        out->municipalities[0] = p->municipality_id;
        out->object.municipality_ids = out->municipalities;
        out->object.n_municipalities = 1;
    }
    if (s_set(p->organization_id)) {
        out->organizations[0] = p->organization_id;
        out->object.organization_ids = out->organizations;
        out->object.n_organizations = 1;
    }
    out->object.person_id = p->author_staff_id;
}

static bool s_practice_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    const Metodnet__Practice *p = (const Metodnet__Practice *)msg;
    if (access == SCOPE_READ && p->status == METODNET__PRACTICE_STATUS__PRACTICE_STATUS_PUBLISHED &&
        s_region_reader(caller, p->region_id))
        return true; /* the bank is open to the whole region */
    registry_territory t;
    s_practice_territory(msg, &t);
    return scope_allows(caller, &t.object, access);
}

static void s_practice_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__Practice *p = (const Metodnet__Practice *)msg;
    char key[REGISTRY_KEY_MAX], member[REGISTRY_MEMBER_MAX];
    registry_sort_member(member, sizeof member, p->title, p->id);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:practice", p->region_id);
    registry_layout_index(out, key, member);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:practice:author:%s", p->region_id, p->author_staff_id);
    registry_layout_index(out, key, member);
    if (s_set(p->organization_id)) {
        snprintf(key, sizeof key, "reg:{r:%s}:ix:practice:org:%s", p->region_id, p->organization_id);
        registry_layout_index(out, key, member);
        registry_layout_token(out, "org", p->organization_id);
    }
    snprintf(key, sizeof key, "reg:{r:%s}:ix:practice:word", p->region_id);
    s_word_indexes(out, key, p->title, p->id);
    registry_layout_token(out, "status", s_word(&metodnet__practice_status__descriptor, p->status));
    registry_layout_token(out, "author", p->author_staff_id);
    if (s_set(p->municipality_id))
        registry_layout_token(out, "mun", p->municipality_id);
    if (s_set(p->subject))
        registry_layout_token(out, "subj", p->subject);
    for (size_t i = 0; i < p->n_competences; i++)
        registry_layout_token(out, "comp", p->competences[i]);
    s_staff_must_exist(out, p->region_id, p->author_staff_id, "authorStaffId");
    if (s_set(p->organization_id)) {
        entity_layout_reference(out, "organizationId", "reg:{r:%s}:org:%s", p->region_id, p->organization_id);
    }
}

static size_t s_practice_references(const ProtobufCMessage *msg, registry_reference *out, size_t max)
{
    const Metodnet__Practice *p = (const Metodnet__Practice *)msg;
    size_t n = s_add_reference(out, 0, max, &registry_staff_kind, p->author_staff_id, "authorStaffId", true);
    return s_add_reference(out, n, max, &registry_organization_kind, p->organization_id, "organizationId", true);
}

/* The organization is one of the author's (the first when not given); the municipality follows it. */
static void s_practice_apply(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index;
    Metodnet__Practice *p = (Metodnet__Practice *)msg;
    if (loaded->descriptor == &metodnet__organization__descriptor) {
        s_replace(&p->municipality_id, ((const Metodnet__Organization *)loaded)->municipality_id);
        return;
    }
    if (loaded->descriptor != &metodnet__staff_member__descriptor)
        return;
    const Metodnet__StaffMember *s = (const Metodnet__StaffMember *)loaded;
    if (!s_set(p->organization_id)) {
        if (s->n_organization_ids == 1 && s->n_municipality_ids >= 1) {
            s_replace(&p->organization_id, s->organization_ids[0]);
            s_replace(&p->municipality_id, s->municipality_ids[0]);
        } else {
            validation_add(v, "organizationId",
                           "Автор работает в нескольких организациях: укажите организацию практики");
        }
        return;
    }
    bool works_there = false;
    for (size_t i = 0; i < s->n_organization_ids && !works_there; i++)
        works_there = strcmp(s->organization_ids[i], p->organization_id) == 0;
    if (!works_there)
        validation_add(v, "organizationId", "Автор практики не работает в этой организации");
}

static void s_practice_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__Practice *p = (Metodnet__Practice *)msg;
    p->status = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_SUBMITTED;
    for (size_t i = 0; i < p->n_reviews; i++)
        protobuf_c_message_free_unpacked(&p->reviews[i]->base, NULL);
    free(p->reviews);
    p->reviews = NULL;
    p->n_reviews = 0;
    s_replace(&p->published_at, "");
    s_replace(&p->municipality_id, "");
}

static const char *s_practice_update_conflict(const ProtobufCMessage *current)
{
    Metodnet__PracticeStatus status = ((const Metodnet__Practice *)current)->status;
    if (status == METODNET__PRACTICE_STATUS__PRACTICE_STATUS_UNDER_REVIEW)
        return "Практика на экспертизе: изменить её можно после решения эксперта";
    if (status == METODNET__PRACTICE_STATUS__PRACTICE_STATUS_PUBLISHED)
        return "Опубликованную практику изменить нельзя";
    return NULL;
}

static const char *s_status_ru(Metodnet__PracticeStatus status)
{
    switch (status) {
    case METODNET__PRACTICE_STATUS__PRACTICE_STATUS_SUBMITTED:
        return "подана";
    case METODNET__PRACTICE_STATUS__PRACTICE_STATUS_UNDER_REVIEW:
        return "на экспертизе";
    case METODNET__PRACTICE_STATUS__PRACTICE_STATUS_PUBLISHED:
        return "опубликована";
    case METODNET__PRACTICE_STATUS__PRACTICE_STATUS_REJECTED:
        return "отклонена";
    default:
        return "неизвестно";
    }
}

static bool s_is_reviewer(const Metodnet__Principal *caller)
{
    return caller->role == METODNET__ROLE__ROLE_REGION_ADMIN ||
           caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST || caller->role == METODNET__ROLE__ROLE_SYSTEM;
}

/* submitted --start--> under_review --publish--> published
 *                                   --reject---> rejected --resubmit--> submitted
 * start/publish/reject: region administrators and municipal methodologists (the write check on the
 * practice already placed the caller in scope); resubmit: whoever may change the practice. */
static registry_transition_result s_practice_review(const ProtobufCMessage *request, ProtobufCMessage *next,
                                                    const Metodnet__Principal *caller, const char *now, validation *v,
                                                    const char **conflict_ru)
{
    const Metodnet__ReviewPracticeRequest *r = (const Metodnet__ReviewPracticeRequest *)request;
    Metodnet__Practice *p = (Metodnet__Practice *)next;
    static char message[200];
    const char *action = r->action ? r->action : "";
    Metodnet__PracticeStatus from, to;
    bool expert = true;
    if (strcmp(action, "start") == 0) {
        from = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_SUBMITTED;
        to = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_UNDER_REVIEW;
    } else if (strcmp(action, "publish") == 0) {
        from = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_UNDER_REVIEW;
        to = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_PUBLISHED;
    } else if (strcmp(action, "reject") == 0) {
        from = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_UNDER_REVIEW;
        to = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_REJECTED;
    } else if (strcmp(action, "resubmit") == 0) {
        from = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_REJECTED;
        to = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_SUBMITTED;
        expert = false;
    } else {
        validation_add(v, "action", "Действие: start, publish, reject или resubmit");
        return REGISTRY_TRANSITION_INVALID;
    }
    validate_text(v, "comment", r->comment, 4000, to == METODNET__PRACTICE_STATUS__PRACTICE_STATUS_REJECTED);
    if (!validation_ok(v))
        return REGISTRY_TRANSITION_INVALID;
    if (expert && !s_is_reviewer(caller))
        return REGISTRY_TRANSITION_DENIED;
    if (p->status != from) {
        snprintf(message, sizeof message, "Действие «%s» недопустимо: практика %s, а нужно — %s", action,
                 s_status_ru(p->status), s_status_ru(from));
        *conflict_ru = message;
        return REGISTRY_TRANSITION_CONFLICT;
    }
    if (p->n_reviews >= PRACTICE_MAX_REVIEWS) {
        *conflict_ru = "У практики слишком много шагов экспертизы";
        return REGISTRY_TRANSITION_CONFLICT;
    }
    Metodnet__PracticeReview *review = xmalloc(sizeof *review);
    Metodnet__PracticeReview **grown = xrealloc(p->reviews, (p->n_reviews + 1) * sizeof *grown);
    metodnet__practice_review__init(review);
    review->action = xstrdup(action);
    review->comment = xstrdup(r->comment ? r->comment : "");
    review->reviewer_user_id = xstrdup(caller->user_id ? caller->user_id : "");
    review->at = xstrdup(now);
    review->status = to;
    p->reviews = grown;
    p->reviews[p->n_reviews++] = review;
    p->status = to;
    if (to == METODNET__PRACTICE_STATUS__PRACTICE_STATUS_PUBLISHED)
        s_replace(&p->published_at, now);
    return REGISTRY_TRANSITION_OK;
}

static bool s_practice_match(const ProtobufCMessage *msg, const ProtobufCMessage *request, const char *after)
{
    const Metodnet__Practice *p = (const Metodnet__Practice *)msg;
    const char *q = ((const Metodnet__ListPracticesRequest *)request)->q;
    if (!s_set(q))
        return true;
    char key[64];
    registry_query_key(q, key, sizeof key);
    return registry_text_matches(p->title, q) && registry_word_first_seen(p->title, p->id, key, after);
}

/* The author keeps the content current while the practice is not under review or published. */
static const char *const s_practice_self_editable[] = {"title",       "subject",     "competences",
                                                       "description", "attachments", NULL};

static const entity_filter s_practice_filters[] = {
    {.field = "status",
     .token = "status",
     .words = &metodnet__practice_status__descriptor,
     .check = ENTITY_FILTER_ENUM},
    {.field = "subject", .token = "subj", .check = ENTITY_FILTER_SUBJECT},
    {.field = "competence", .token = "comp", .check = ENTITY_FILTER_CUSTOM, .valid = registry_code_valid},
    {.field = "author_staff_id", .token = "author", .check = ENTITY_FILTER_ID},
    {.field = "organization_id", .token = "org", .check = ENTITY_FILTER_ID},
    {.field = "municipality_id", .token = "mun", .check = ENTITY_FILTER_ID},
};
static const entity_list_index s_practice_indexes[] = {
    {.field = "organization_id", .index = "practice:org"},
    {.field = "author_staff_id", .index = "practice:author"},
};

const registry_kind registry_practice_kind = {
    CATALOGUE_KIND,
    .name = "practice",
    FILTERS(s_practice_filters),
    INDEXES(s_practice_indexes),
    .word_key = registry_query_key,
    .self_editable = s_practice_self_editable,
    .id_letter = 'e',
    .json_field = "practice",
    .descriptor = &metodnet__practice__descriptor,
    .not_found_ru = "Практика не найдена",
    .exists_ru = "Практика уже существует",
    .not_empty_ru = "",
    .immutable = s_practice_immutable,
    .validate = s_practice_validate,
    .territory = s_practice_territory,
    .layout = s_practice_layout,
    .allows = s_practice_allows,
    .list_unnarrowed = true,
    .references = s_practice_references,
    .apply_reference = s_practice_apply,
    .list_match = s_practice_match,
    .transition = s_practice_review,
    .on_create = s_practice_on_create,
    .update_conflict = s_practice_update_conflict,
};
