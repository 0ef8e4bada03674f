/* registry_kinds — what differs between the registry's entities (region, municipality,
 * organization, staff member): their Redis keys, ids, indexes, attribute tokens, scope, validation,
 * list filters and Russian wording, as entity_kind descriptors (common/entity_kind.h), whose one
 * flow serves them.
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

#include "entity_kind.h"
#include "entity_store.h"
#include "envelope.pb-c.h"
#include "registry.pb-c.h"
#include "scope.h"
#include "validate.h"

#define REGISTRY_KEY_MAX           160
#define REGISTRY_MEMBER_MAX        320
#define REGISTRY_MAX_ORGANIZATIONS 5

/* The registry's kinds are entity_kind descriptors (common/entity_kind.h); these names keep the
 * registry's own modules (import, export, catalogue) short. */
typedef entity_kind registry_kind;
typedef entity_territory registry_territory;
typedef entity_reference registry_reference;
typedef entity_layout registry_layout;
typedef entity_transition_result registry_transition_result;
#define REGISTRY_TRANSITION_OK       ENTITY_TRANSITION_OK
#define REGISTRY_TRANSITION_INVALID  ENTITY_TRANSITION_INVALID
#define REGISTRY_TRANSITION_CONFLICT ENTITY_TRANSITION_CONFLICT
#define REGISTRY_TRANSITION_DENIED   ENTITY_TRANSITION_DENIED

extern const registry_kind registry_region_kind;
extern const registry_kind registry_municipality_kind;
extern const registry_kind registry_organization_kind;
/* Sets the founder of a new organization that has none (a municipality's, or the region's for a
 * regional centre or a college). */
void registry_organization_default_founder(Metodnet__Organization *o);
/* Sets what a staff member's record derives from its other fields (the next attestation's due date). */
void registry_staff_derive(Metodnet__StaffMember *s);
extern const registry_kind registry_staff_kind;

/* Region part of an id ("07-s12" → "07") into out; false for an id that is not ours. */
static inline bool registry_region_of(const char *id, char *out, size_t size)
{
    return entity_region_of(id, out, size);
}
/* Key of the entity with that id; false for an invalid id. */
static inline bool registry_entity_key(const registry_kind *kind, const char *id, char *out, size_t size)
{
    return entity_kind_key(kind, id, out, size);
}
/* Sequence and stream keys of kind in region. */
static inline void registry_sequence_key(const registry_kind *kind, const char *region, char *out, size_t size)
{
    entity_kind_sequence_key(kind, region, out, size);
}
static inline void registry_stream_key(const registry_kind *kind, const char *region, char *out, size_t size)
{
    entity_kind_stream_key(kind, region, out, size);
}
/* New id from a sequence value: "07-s345". */
static inline void registry_make_id(const registry_kind *kind, const char *region, long long sequence, char *out,
                                    size_t size)
{
    entity_kind_make_id(kind, region, sequence, out, size);
}
/* Prefix of entity keys in region ("reg:{r:07}:staff:"), for lists. */
static inline void registry_key_prefix(const registry_kind *kind, const char *region, char *out, size_t size)
{
    entity_kind_key_prefix(kind, region, out, size);
}
/* Name-ordered index of every entity of kind in region. */
static inline void registry_main_index(const registry_kind *kind, const char *region, char *out, size_t size)
{
    entity_kind_main_index(kind, region, out, size);
}
/* Hash of kind's external ids in region ("reg:{r:07}:xid:staff"): external id → entity id. */
static inline void registry_claims_key(const registry_kind *kind, const char *region, char *out, size_t size)
{
    entity_kind_claims_key(kind, region, "externalId", out, size);
}
/* The external id a layout claims, NULL when none. */
const char *registry_layout_external_id(const registry_layout *layout);
/* Sort-key prefix for a name search: folded text. */
void registry_search_prefix(const char *q, char *out, size_t size);

/* Whether caller may read/write entity: kind->allows, or scope_allows() on its territory. */
static inline bool registry_allows(const registry_kind *kind, const Metodnet__Principal *caller,
                                   const ProtobufCMessage *entity, scope_access access)
{
    return entity_kind_allows(kind, caller, entity, access);
}

/* Layout helpers shared with registry_catalogue.c. */
static inline void registry_layout_index(registry_layout *out, const char *key, const char *member)
{
    entity_layout_index(out, member, "%s", key);
}
static inline void registry_layout_token(registry_layout *out, const char *name, const char *value)
{
    entity_layout_token(out, name, value);
}
/* "<folded text>\x1f<id>" into out. */
static inline void registry_sort_member(char *out, size_t size, const char *text, const char *id)
{
    entity_layout_sort_member(out, size, text, id);
}

#endif
