/* registry_catalogue_internal — what the catalogue kinds' files share (registry_catalogue.c holds
 * these helpers; registry_associations.c, registry_councils.c, registry_programmes.c and
 * registry_practices.c the kinds): checks, string helpers, the homes of associations and councils,
 * layout helpers, and what every catalogue descriptor sets. Not a public header.
 */
#ifndef METODNET_REGISTRY_CATALOGUE_INTERNAL_H
#define METODNET_REGISTRY_CATALOGUE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "registry.pb-c.h"
#include "registry_catalogue.h"

/* Where an association, a council or a meeting lives: an organization, a municipality or the region. */
typedef struct {
    Metodnet__HomeLevel level;
    const char *region_id;
    const char *municipality_id;
    const char *organization_id;
} home;

/* Non-NULL and non-empty. */
bool catalogue_set(const char *s);
/* Both set and equal. */
bool catalogue_eq(const char *a, const char *b);
/* The JSON word of an enum value ("none" when it has none). */
const char *catalogue_word(const ProtobufCEnumDescriptor *desc, int value);
/* Replaces the malloc'd string in *slot with a copy of value. */
void catalogue_replace(char **slot, const char *value);
/* Frees a malloc'd string list and empties it. */
void catalogue_free_strings(char ***items, size_t *n);
/* Replaces *dst with copies of src. */
void catalogue_copy_strings(char ***dst, size_t *n_dst, char *const *src, size_t n_src);
/* A reference field: an id of kind (violation with an example when not); true when given and valid. */
bool catalogue_check_id(validation *v, const char *field, const char *id, const registry_kind *kind, bool required,
                        const char *example);
/* Competence codes of the diagnostics framework, at most max, no repeats. */
void catalogue_check_competences(validation *v, const char *field, char *const *codes, size_t n, size_t max);
/* Named members from outside the registry (associations, councils): at most 50, each with a name. */
void catalogue_check_external_members(validation *v, const char *field, Metodnet__ExternalMember *const *members,
                                      size_t n);
/* A record of a person at one of their organizations (a practice's author, a help request's teacher, a
 * consultation's asker), as its references are read: an organization read gives the municipality; the
 * person read gives the organization when none was named and they have exactly one (else several_ru on
 * organizationId), or checks the one named is theirs (else not_there_ru on person_field). */
void catalogue_apply_person_organization(char **organization_id, char **municipality_id, const ProtobufCMessage *loaded,
                                         const char *person_field, const char *several_ru, const char *not_there_ru,
                                         validation *v);
/* Yearly plans and reports (associations, councils): at most CATALOGUE_MAX_YEARS school years, each once,
 * by its first calendar year; too_many_ru is the refusal past the bound. */
#define CATALOGUE_MAX_YEARS 30
void catalogue_check_years(validation *v, Metodnet__AssociationYear *const *years, size_t n, const char *too_many_ru);
/* A subject of the national list, when given. */
void catalogue_check_subject(validation *v, const char *field, const char *subject);
/* One index entry per word of text (title search), members "<word>\x1f<id>". */
void catalogue_word_indexes(registry_layout *out, const char *key, const char *text, const char *id);
/* "<date>\x1f<id>": chronological order. */
void catalogue_dated_member(char *out, size_t size, const char *date, const char *id);
/* The territory of a home (for scope_allows). */
void catalogue_home_territory(const home *h, registry_territory *out);
/* Who may read or write what lives at a home (see registry_catalogue.h, Scope). */
bool catalogue_home_allows(const Metodnet__Principal *caller, const home *h, scope_access access);
/* Anyone of the region (and the global callers). */
bool catalogue_region_reader(const Metodnet__Principal *caller, const char *region_id);
/* The home's level and its organization or municipality agree. */
void catalogue_check_home(validation *v, Metodnet__HomeLevel level, const char *organization_id,
                          const char *municipality_id, const char *region_id, bool regional_allowed, bool creating);
/* The home's indexes (by region, municipality, organization) and tokens. */
void catalogue_home_layout(registry_layout *out, const char *segment, const home *h, const char *member);
/* The home must exist: organization, municipality or region. */
void catalogue_home_must_exist(registry_layout *out, const home *h);
/* A named staff member must exist. */
void catalogue_staff_must_exist(registry_layout *out, const char *region, const char *staff_id, const char *field);
/* Appends a reference to read before a write (when id is set); returns the new count. */
size_t catalogue_add_reference(registry_reference *out, size_t n, size_t max, const registry_kind *kind, const char *id,
                               const char *field, bool visible);

/* A new record's region: the home or the record referred to, else the region given (NULL-terminated). */
extern const char *const catalogue_region_fields[];
/* Nested paths (…/associations/{association_id}/members, …/councils/{council_id}/meetings). */
extern const char *const catalogue_path_parents[];

#define FILTERS(table) .filters = table, .n_filters = sizeof table / sizeof table[0]
#define INDEXES(table) .list_indexes = table, .n_list_indexes = sizeof table / sizeof table[0]
#define CATALOGUE_KIND .prefix = "reg", .region_fields = catalogue_region_fields, .path_parents = catalogue_path_parents

#endif
