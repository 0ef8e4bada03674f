/* registry_resolve — ResolveStaff: staff members of a region by id or external id, in one call, for the
 * imports of other services (the diagnostics results import names people by either). Service to service
 * only (the gateway has no route for it); scope is still checked on every member for the caller. */
#ifndef METODNET_REGISTRY_RESOLVE_H
#define METODNET_REGISTRY_RESOLVE_H

#include <protobuf-c/protobuf-c.h>

#include "audit.h"
#include "entity_store.h"
#include "service_worker.h"

#define REGISTRY_RESOLVE_MAX_REFS 1000

/* Answers call (ResolveStaffRequest → ResolveStaffResponse) when done; store is borrowed and must
 * outlive the call. */
void registry_resolve_staff(service_call *call, const ProtobufCMessage *request, entity_store *store);

#endif
