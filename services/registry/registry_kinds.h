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
 * The catalogue kinds (associations, memberships, councils, meetings, programmes, qualification
 * records, practices) are laid out in registry_catalogue.h.
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

#define REGISTRY_KEY_MAX           160
#define REGISTRY_MEMBER_MAX        320
#define REGISTRY_MAX_INDEXES       24
#define REGISTRY_MAX_ORGANIZATIONS 5
#define REGISTRY_MAX_MUST_EXIST    8
#define REGISTRY_MAX_MUST_BE_EMPTY 6
#define REGISTRY_MAX_UNIQUE        2
#define REGISTRY_MAX_REFERENCES    128

typedef struct {
    char key[REGISTRY_KEY_MAX];
    char member[REGISTRY_MEMBER_MAX];
} registry_index;

/* Everything the store needs about one state of an entity; storage is inline. */
typedef struct {
    registry_index indexes[REGISTRY_MAX_INDEXES];
    size_t n_indexes;
    char attributes[4096];
    char must_exist[REGISTRY_MAX_MUST_EXIST][REGISTRY_KEY_MAX];
    size_t n_must_exist;
    const char *must_exist_field[REGISTRY_MAX_MUST_EXIST];            /* JSON path for the violation */
    char must_be_empty[REGISTRY_MAX_MUST_BE_EMPTY][REGISTRY_KEY_MAX]; /* delete guards */
    size_t n_must_be_empty;
    /* Index keys that must be empty when this state is created (uniqueness: one active membership of
     * a person in an association, one qualification record per route item). The layout itself adds
     * the entry, so the key holds exactly one member while the state lasts. */
    char unique[REGISTRY_MAX_UNIQUE][REGISTRY_KEY_MAX];
    size_t n_unique;
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

/* A record another entity refers to, read before a write (registry.c resolves them): it must exist
 * and, with visible, be readable by the caller; apply_reference then copies what is derived from it. */
typedef struct registry_kind registry_kind;
typedef struct {
    const registry_kind *kind;
    char id[72];
    char field[64]; /* JSON path for the violation */
    bool visible;
} registry_reference;

/* What a transition (membership leave, practice review) decided. */
typedef enum {
    REGISTRY_TRANSITION_OK = 0,
    REGISTRY_TRANSITION_INVALID,  /* violations were added */
    REGISTRY_TRANSITION_CONFLICT, /* not allowed in the current state: 409 with the message */
    REGISTRY_TRANSITION_DENIED,   /* this caller may not do it: 403 */
} registry_transition_result;

struct registry_kind {
    const char *name;       /* key segment and event prefix: "staff" */
    char id_letter;         /* id marker ("07-s12"); 0 = the first letter of name */
    const char *json_field; /* request field holding the entity: "staff" */
    const ProtobufCMessageDescriptor *descriptor;
    const char *not_found_ru;
    const char *exists_ru;
    const char *not_empty_ru;
    const char *const *immutable;     /* proto names an update may not touch; NULL-terminated */
    const char *const *self_editable; /* what a person may change in their own record; NULL-terminated */
    bool needs_resolve;               /* staff: organizations are read to derive municipalities */
    void (*validate)(const ProtobufCMessage *entity, bool creating, validation *v);
    void (*territory)(const ProtobufCMessage *entity, registry_territory *out);
    void (*layout)(const ProtobufCMessage *entity, registry_layout *out);
    /* Clears what this caller may not see (personal data); NULL when every field is shown. */
    void (*redact)(ProtobufCMessage *entity, const Metodnet__Principal *caller);

    /* ---- optional, for the catalogue kinds ---- */
    /* Access beyond the territory rule; NULL = scope_allows() on territory. */
    bool (*allows)(const Metodnet__Principal *caller, const ProtobufCMessage *entity, scope_access access);
    /* Lists are not narrowed by the caller's scope tokens (region-wide readable kinds); every item is
     * still checked with allows()/scope_allows(). */
    bool list_unnarrowed;
    /* Records to read before a write; returns how many were filled (≤ max). */
    size_t (*references)(const ProtobufCMessage *entity, registry_reference *out, size_t max);
    /* Called for each reference read (loaded is of reference kind); may add violations. */
    void (*apply_reference)(ProtobufCMessage *entity, size_t index, const ProtobufCMessage *loaded, validation *v);
    /* Post-filter of a list: request is the List request, after_member the page start (or NULL). */
    bool (*list_match)(const ProtobufCMessage *entity, const ProtobufCMessage *request, const char *after_member);
    /* A state change requested by request (leave, review) applied to next (a copy of the stored
     * state). conflict_ru is set with REGISTRY_TRANSITION_CONFLICT. */
    registry_transition_result (*transition)(const ProtobufCMessage *request, ProtobufCMessage *next,
                                             const Metodnet__Principal *caller, const char *now, validation *v,
                                             const char **conflict_ru);
    /* A create that fails on a unique key returns the existing record instead (idempotent create). */
    bool idempotent_unique;
    /* Resets server-owned fields of a new entity (status, derived fields) before validation. */
    void (*on_create)(ProtobufCMessage *entity);
    /* NULL when the stored state may be changed by an update, else why not (409). */
    const char *(*update_conflict)(const ProtobufCMessage *current);
    /* The record's own audit kind when it holds personal data: reads and lists are audited. */
    bool personal;
};

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

/* Whether caller may read/write entity: kind->allows, or scope_allows() on its territory. */
bool registry_allows(const registry_kind *kind, const Metodnet__Principal *caller, const ProtobufCMessage *entity,
                     scope_access access);

/* Layout helpers shared with registry_catalogue.c. */
void registry_layout_index(registry_layout *out, const char *key, const char *member);
void registry_layout_token(registry_layout *out, const char *name, const char *value);
/* "<folded text>\x1f<id>" into out. */
void registry_sort_member(char *out, size_t size, const char *text, const char *id);

#endif
