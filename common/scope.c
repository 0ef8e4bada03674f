/* scope — the one object-level access check (see scope.h for the rules). */
#include "scope.h"

#include <string.h>

static bool s_eq(const char *a, const char *b)
{
    return a && b && *a && strcmp(a, b) == 0;
}

static bool s_in(const char *id, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s_eq(id, list[i]))
            return true;
    return false;
}

bool scope_is_global(const Metodnet__Principal *caller)
{
    return caller && caller->role == METODNET__ROLE__ROLE_SYSTEM &&
           caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_ALL;
}

bool scope_allows(const Metodnet__Principal *caller, const scope_object *object, scope_access access)
{
    if (caller == NULL || object == NULL || object->region_id == NULL)
        return false;
    if (scope_is_global(caller))
        return true;
    if (caller->role == METODNET__ROLE__ROLE_UNSPECIFIED)
        return false;
    if (access == SCOPE_WRITE && caller->role == METODNET__ROLE__ROLE_SCHOOL_SYSTEM)
        return false;
    /* Every scoped caller lives in exactly one region. */
    if (!s_eq(caller->region_id, object->region_id))
        return false;
    bool is_region_object = object->n_municipalities == 0 && object->n_organizations == 0 && !object->person_id;
    bool is_municipality_object = object->n_organizations == 0 && !object->person_id && object->n_municipalities > 0;

    switch (caller->scope_kind) {
    case METODNET__SCOPE_KIND__SCOPE_KIND_REGION:
        return s_eq(caller->scope_id, object->region_id);
    case METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY:
        if (is_region_object)
            return access == SCOPE_READ; /* its own region, read-only */
        return s_in(caller->scope_id, object->municipality_ids, object->n_municipalities) &&
               !(is_municipality_object && access == SCOPE_WRITE);
    case METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION:
        if (is_region_object)
            return access == SCOPE_READ;
        if (is_municipality_object)
            return access == SCOPE_READ &&
                   s_in(caller->municipality_id, object->municipality_ids, object->n_municipalities);
        return s_in(caller->scope_id, object->organization_ids, object->n_organizations);
    case METODNET__SCOPE_KIND__SCOPE_KIND_SELF:
        return s_eq(caller->scope_id, object->person_id);
    default:
        return false;
    }
}
