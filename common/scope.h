/* scope — the one object-level access check. Every handler of every service calls scope_allows()
 * with the caller from the envelope and the territory an object lies in; the gateway's own checks
 * never replace it.
 *
 * Scope is hierarchical: region ⊃ municipality ⊃ organization ⊃ person. A caller may
 *  - read an object that lies in its scope (for a person: any of their organizations or
 *    municipalities), or an ancestor territory of its scope (its own region or municipality);
 *  - write an object that lies in its scope, unless its role is read-only (school system);
 *  - with SCOPE_KIND_SELF, read and write only the person whose id is its scope id.
 * Role-specific rules on top (which fields, which kinds of object) belong to the services. Reading an
 * ancestor territory is right for the territory's record and wrong for what merely hangs off it: user
 * accounts and API keys (auth: only below in rank, or oneself) and the people in an association
 * (registry_membership_needs_person) are narrowed by their services.
 */
#ifndef METODNET_SCOPE_H
#define METODNET_SCOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "envelope.pb-c.h"

typedef enum { SCOPE_READ, SCOPE_WRITE } scope_access;

typedef struct {
    const char *region_id;               /* required */
    const char *const *municipality_ids; /* empty for a region object */
    size_t n_municipalities;
    const char *const *organization_ids; /* empty for region/municipality objects */
    size_t n_organizations;
    const char *person_id; /* staff member id, for person objects */
} scope_object;

bool scope_allows(const Metodnet__Principal *caller, const scope_object *object, scope_access access);

/* True when the caller may act on all regions (ROLE_SYSTEM with SCOPE_KIND_ALL). */
bool scope_is_global(const Metodnet__Principal *caller);

#endif
