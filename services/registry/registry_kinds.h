/* registry_kinds — what differs between the registry's entities (region, municipality,
 * organization, staff member): their Redis keys, ids, indexes, attribute tokens, scope, validation
 * and Russian wording. The one CRUD flow in registry.c is driven by these descriptions.
 *
 * Key layout (R = region id, the hash tag keeps one region's keys in one Cluster slot):
 *   reg:{g}:region:<R>                 region entity      reg:{g}:ix:regions      regions by name
 *   reg:{r:R}:mun:<id>                 municipality       reg:{r:R}:ix:mun        by name
 *   reg:{r:R}:org:<id>                 organization       reg:{r:R}:ix:org, reg:{r:R}:ix:org:mun:<m>
 *   reg:{r:R}:staff:<id>               staff member       reg:{r:R}:ix:staff, …:ix:staff:org:<o>,
 *                                                         …:ix:staff:mun:<m>
 *   reg:{r:R}:seq:<kind>               id sequences       reg:{r:R}:events / reg:{g}:events  streams
 * Ids carry their region: "07" (region), "07-m1", "07-o12", "07-s345".
 */
#ifndef METODNET_REGISTRY_KINDS_H
#define METODNET_REGISTRY_KINDS_H

#include <stdbool.h>
#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#include "entity_store.h"
#include "envelope.pb-c.h"
#include "scope.h"
#include "validate.h"

#define REGISTRY_KEY_MAX 160
#define REGISTRY_MEMBER_MAX 320
#define REGISTRY_MAX_INDEXES 24
#define REGISTRY_MAX_ORGANIZATIONS 5

typedef struct {
    char key[REGISTRY_KEY_MAX];
    char member[REGISTRY_MEMBER_MAX];
} registry_index;

/* Everything the store needs about one state of an entity; storage is inline. */
typedef struct {
    registry_index indexes[REGISTRY_MAX_INDEXES];
    size_t n_indexes;
    char attributes[1024];
    char must_exist[REGISTRY_MAX_ORGANIZATIONS + 1][REGISTRY_KEY_MAX];
    size_t n_must_exist;
    const char *must_exist_field[REGISTRY_MAX_ORGANIZATIONS + 1]; /* JSON path for the violation */
    char must_be_empty[2][REGISTRY_KEY_MAX];
    size_t n_must_be_empty;
    /* The unique external id the entity claims (organizations, staff): claim_key "" = none. */
    char claim_key[REGISTRY_KEY_MAX];
    char claim_value[REGISTRY_MEMBER_MAX];
} registry_layout;

/* Territory of an entity, for scope_allows(); pointers borrow from the entity. */
typedef struct {
    scope_object object;
    const char *municipalities[REGISTRY_MAX_ORGANIZATIONS + 1];
    const char *organizations[REGISTRY_MAX_ORGANIZATIONS + 1];
} registry_territory;

typedef struct registry_kind {
    const char *name;               /* key segment and event prefix: "staff" */
    const char *json_field;         /* request field holding the entity: "staff" */
    const ProtobufCMessageDescriptor *descriptor;
    const char *not_found_ru;
    const char *exists_ru;
    const char *not_empty_ru;
    const char *const *immutable;   /* proto names an update may not touch; NULL-terminated */
    const char *const *self_editable; /* what a person may change in their own record; NULL-terminated */
    bool needs_resolve;             /* staff: organizations are read to derive municipalities */
    void (*validate)(const ProtobufCMessage *entity, bool creating, validation *v);
    void (*territory)(const ProtobufCMessage *entity, registry_territory *out);
    void (*layout)(const ProtobufCMessage *entity, registry_layout *out);
    /* Clears what this caller may not see (personal data); NULL when every field is shown. */
    void (*redact)(ProtobufCMessage *entity, const Metodnet__Principal *caller);
} registry_kind;

extern const registry_kind registry_region_kind;
extern const registry_kind registry_municipality_kind;
extern const registry_kind registry_organization_kind;
extern const registry_kind registry_staff_kind;

/* Region part of an id ("07-s12" → "07") into out; false for an id that is not ours. */
bool registry_region_of(const char *id, char *out, size_t size);
/* Key of the entity with that id; false for an invalid id. */
bool registry_entity_key(const registry_kind *kind, const char *id, char *out, size_t size);
/* Sequence and stream keys of kind in region. */
void registry_sequence_key(const registry_kind *kind, const char *region, char *out, size_t size);
void registry_stream_key(const registry_kind *kind, const char *region, char *out, size_t size);
/* New id from a sequence value: "07-s345". */
void registry_make_id(const registry_kind *kind, const char *region, long long sequence, char *out, size_t size);
/* Prefix of entity keys in region ("reg:{r:07}:staff:"), for lists. */
void registry_key_prefix(const registry_kind *kind, const char *region, char *out, size_t size);
/* Name-ordered index of every entity of kind in region. */
void registry_main_index(const registry_kind *kind, const char *region, char *out, size_t size);
/* Hash of kind's external ids in region ("reg:{r:07}:xid:staff"): external id → entity id. */
void registry_claims_key(const registry_kind *kind, const char *region, char *out, size_t size);
/* Claims and releases of a write from the old layout (NULL: create) to the new one (NULL: delete);
 * entries borrow from the layouts. Each out array needs room for 1. */
void registry_layout_claims(const registry_layout *old_layout, const registry_layout *new_layout, const char *id,
                            entity_claim *claims, size_t *n_claims, entity_claim *releases, size_t *n_releases);
/* Index entries of `from` that `than` (may be NULL) lacks; out needs REGISTRY_MAX_INDEXES entries. */
size_t registry_layout_index_difference(const registry_layout *from, const registry_layout *than,
                                        entity_index_entry *out);
/* Sort-key prefix for a name search: folded text. */
void registry_search_prefix(const char *q, char *out, size_t size);

#endif
