/* registry_catalogue — what the catalogue kinds share (see registry_catalogue.h for the kinds and
 * registry_catalogue_internal.h for this file's part): checks, words of titles, homes, layout helpers.
 * The kinds themselves: registry_associations.c, registry_councils.c, registry_programmes.c,
 * registry_practices.c. */
#include "registry_catalogue.h"
#include "registry_catalogue_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dictionary.h"
#include "pbfield.h"
#include "pbjson.h"
#include "registry.pb-c.h"
#include "xalloc.h"

/* ---------- shared helpers ---------- */

bool catalogue_set(const char *s)
{
    return s != NULL && *s != '\0';
}
bool catalogue_eq(const char *a, const char *b)
{
    return catalogue_set(a) && catalogue_set(b) && strcmp(a, b) == 0;
}

const char *catalogue_word(const ProtobufCEnumDescriptor *desc, int value)
{
    const char *word = pbjson_enum_word(desc, value);
    return word ? word : "none";
}

void catalogue_replace(char **slot, const char *value)
{
    char *copy = xstrdup(value ? value : "");
    if (*slot != NULL && *slot != protobuf_c_empty_string)
        free(*slot);
    *slot = copy;
}

void catalogue_free_strings(char ***items, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*items)[i]);
    free(*items);
    *items = NULL;
    *n = 0;
}

void catalogue_copy_strings(char ***dst, size_t *n_dst, char *const *src, size_t n_src)
{
    catalogue_free_strings(dst, n_dst);
    if (n_src == 0)
        return;
    *dst = xcalloc(n_src, sizeof **dst);
    for (size_t i = 0; i < n_src; i++) {
        (*dst)[i] = xstrdup(src[i]);
    }
    *n_dst = n_src;
}

/* An id of kind, with a violation naming field; empty is an error only when required. */
bool catalogue_check_id(validation *v, const char *field, const char *id, const registry_kind *kind, bool required,
                        const char *example)
{
    char key[REGISTRY_KEY_MAX];
    if (!catalogue_set(id)) {
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

void catalogue_check_competences(validation *v, const char *field, char *const *codes, size_t n, size_t max)
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

void catalogue_check_external_members(validation *v, const char *field, Metodnet__ExternalMember *const *members,
                                      size_t n)
{
    if (n > 50)
        validation_add(v, field, "Не более 50 внешних участников");
    for (size_t i = 0; i < n && i < 50; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s[%zu].fullName", field, i);
        validate_text(v, name, members[i]->full_name, 200, true);
        snprintf(name, sizeof name, "%s[%zu].affiliation", field, i);
        validate_text(v, name, members[i]->affiliation, 300, false);
        snprintf(name, sizeof name, "%s[%zu].role", field, i);
        validate_text(v, name, members[i]->role, 200, false);
    }
}

void catalogue_apply_person_organization(char **organization_id, char **municipality_id, const ProtobufCMessage *loaded,
                                         const char *person_field, const char *several_ru, const char *not_there_ru,
                                         validation *v)
{
    if (loaded->descriptor == &metodnet__organization__descriptor) {
        catalogue_replace(municipality_id, ((const Metodnet__Organization *)loaded)->municipality_id);
        return;
    }
    if (loaded->descriptor != &metodnet__staff_member__descriptor)
        return;
    const Metodnet__StaffMember *s = (const Metodnet__StaffMember *)loaded;
    if (!catalogue_set(*organization_id)) {
        if (s->n_organization_ids == 1 && s->n_municipality_ids >= 1) {
            catalogue_replace(organization_id, s->organization_ids[0]);
            catalogue_replace(municipality_id, s->municipality_ids[0]);
        } else {
            validation_add(v, "organizationId", "%s", several_ru);
        }
        return;
    }
    bool works_there = false;
    for (size_t i = 0; i < s->n_organization_ids && !works_there; i++)
        works_there = strcmp(s->organization_ids[i], *organization_id) == 0;
    if (!works_there)
        validation_add(v, person_field, "%s", not_there_ru);
}

void catalogue_check_years(validation *v, Metodnet__AssociationYear *const *years, size_t n, const char *too_many_ru)
{
    if (n > CATALOGUE_MAX_YEARS)
        validation_add(v, "years", "%s", too_many_ru);
    for (size_t i = 0; i < n && i < CATALOGUE_MAX_YEARS; i++) {
        char field[48];
        snprintf(field, sizeof field, "years[%zu].year", i);
        if (years[i]->year < 2000 || years[i]->year > 2100)
            validation_add(v, field, "Учебный год — его первый год, от 2000 до 2100 (2025 = 2025/26)");
        for (size_t j = 0; j < i; j++)
            if (years[i]->year == years[j]->year)
                validation_add(v, field, "Этот учебный год уже есть");
        snprintf(field, sizeof field, "years[%zu].plan", i);
        validate_text(v, field, years[i]->plan, 10000, false);
        snprintf(field, sizeof field, "years[%zu].report", i);
        validate_text(v, field, years[i]->report, 10000, false);
    }
}

void catalogue_check_subject(validation *v, const char *field, const char *subject)
{
    if (catalogue_set(subject) && !dictionary_subject_known(subject))
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
    /* index text, as the members (the same change for the words of a query: prefixes stay prefixes) */
    for (size_t i = 0; i < n; i++)
        entity_sort_collate(words[i]);
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

void catalogue_word_indexes(registry_layout *out, const char *key, const char *text, const char *id)
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
void catalogue_dated_member(char *out, size_t size, const char *date, const char *id)
{
    snprintf(out, size, "%s\x1f%s", catalogue_set(date) ? date : "0000-00-00", id);
}

/* ---------- homes: organization, municipality or region ---------- */

void catalogue_home_territory(const home *h, registry_territory *out)
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
bool catalogue_home_allows(const Metodnet__Principal *caller, const home *h, scope_access access)
{
    if (h->level == METODNET__HOME_LEVEL__HOME_LEVEL_UNSPECIFIED || caller == NULL)
        return scope_is_global(caller);
    registry_territory t;
    catalogue_home_territory(h, &t);
    if (scope_allows(caller, &t.object, access))
        return true;
    return access == SCOPE_WRITE && h->level == METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL &&
           caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY &&
           (caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST ||
            caller->role == METODNET__ROLE__ROLE_REGION_ADMIN || caller->role == METODNET__ROLE__ROLE_SYSTEM) &&
           catalogue_eq(caller->region_id, h->region_id) && catalogue_eq(caller->scope_id, h->municipality_id);
}

/* Everyone with a role in the region (person scope included) reads region-wide records. */
bool catalogue_region_reader(const Metodnet__Principal *caller, const char *region_id)
{
    if (scope_is_global(caller))
        return true;
    return caller != NULL && caller->role != METODNET__ROLE__ROLE_UNSPECIFIED &&
           catalogue_eq(caller->region_id, region_id);
}

/* Level and home fields; violations on level/organizationId/municipalityId/regionId. */
void catalogue_check_home(validation *v, Metodnet__HomeLevel level, const char *organization_id,
                          const char *municipality_id, const char *region_id, bool regional_allowed, bool creating)
{
    switch (level) {
    case METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL:
        catalogue_check_id(v, "organizationId", organization_id, &registry_organization_kind, true, "07-o12");
        break;
    case METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL:
        catalogue_check_id(v, "municipalityId", municipality_id, &registry_municipality_kind, true, "07-m1");
        if (catalogue_set(organization_id))
            validation_add(v, "organizationId",
                           "У муниципального уровня нет организации: укажите только municipalityId");
        break;
    case METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL:
        if (!regional_allowed) {
            validation_add(v, "level", "Допустимые уровни: institutional или municipal");
            break;
        }
        if (catalogue_set(organization_id) || (creating && catalogue_set(municipality_id)))
            validation_add(v, catalogue_set(organization_id) ? "organizationId" : "municipalityId",
                           "У регионального уровня нет организации и муниципалитета");
        if (creating && !catalogue_set(region_id))
            validation_add(v, "regionId", "Укажите регион (regionId)");
        break;
    default:
        validation_add(v, "level",
                       regional_allowed ? "Укажите уровень: institutional, municipal или regional"
                                        : "Укажите уровень: institutional или municipal");
    }
}

void catalogue_home_layout(registry_layout *out, const char *segment, const home *h, const char *member)
{
    char key[REGISTRY_KEY_MAX];
    snprintf(key, sizeof key, "reg:{r:%s}:ix:%s", h->region_id, segment);
    registry_layout_index(out, key, member);
    registry_layout_token(out, "level", catalogue_word(&metodnet__home_level__descriptor, h->level));
    if (h->level != METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL && catalogue_set(h->municipality_id)) {
        snprintf(key, sizeof key, "reg:{r:%s}:ix:%s:mun:%s", h->region_id, segment, h->municipality_id);
        registry_layout_index(out, key, member);
        registry_layout_token(out, "mun", h->municipality_id);
    }
    if (h->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL && catalogue_set(h->organization_id)) {
        snprintf(key, sizeof key, "reg:{r:%s}:ix:%s:org:%s", h->region_id, segment, h->organization_id);
        registry_layout_index(out, key, member);
        registry_layout_token(out, "org", h->organization_id);
    }
}

/* The home must exist: organization, municipality or region. */
void catalogue_home_must_exist(registry_layout *out, const home *h)
{
    if (h->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL)
        entity_layout_reference(out, "organizationId", "reg:{r:%s}:org:%s", h->region_id, h->organization_id);
    else if (h->level == METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL)
        entity_layout_reference(out, "municipalityId", "reg:{r:%s}:mun:%s", h->region_id, h->municipality_id);
    else
        entity_layout_reference(out, "regionId", "reg:{g}:region:%s", h->region_id);
}

void catalogue_staff_must_exist(registry_layout *out, const char *region, const char *staff_id, const char *field)
{
    if (catalogue_set(staff_id))
        entity_layout_reference(out, field, "reg:{r:%s}:staff:%s", region, staff_id);
}

size_t catalogue_add_reference(registry_reference *out, size_t n, size_t max, const registry_kind *kind, const char *id,
                               const char *field, bool visible)
{
    if (!catalogue_set(id) || n >= max)
        return n;
    out[n].kind = kind;
    snprintf(out[n].id, sizeof out[n].id, "%s", id);
    snprintf(out[n].field, sizeof out[n].field, "%s", field);
    out[n].visible = visible;
    return n + 1;
}

/* ---------- what every catalogue kind shares ---------- */

const char *const catalogue_region_fields[] = {"organization_id", "municipality_id", "association_id", "council_id",
                                               "staff_id",        "author_staff_id", "region_id",      NULL};
const char *const catalogue_path_parents[] = {"association_id", "council_id", NULL};
