/* registry — the registry service: regions, municipalities, organizations and staff members over
 * MDP, stored through entity_store. One CRUD flow serves all four kinds (registry_kinds.h says what
 * differs); every handler checks the caller's scope on the object itself.
 *
 * Methods (request → response, proto/registry.proto):
 *   Create<K>(Create<K>Request) → <K>     Get<K>(GetRequest) → <K>
 *   Update<K>(Update<K>Request) → <K>     Delete<K>(DeleteRequest) → DeleteResponse
 *   List<Ks>(List<Ks>Request) → List<Ks>Response
 * for K in Region, Municipality, Organization, Staff (lists: Regions, Municipalities, Organizations,
 * Staff).
 */
#ifndef METODNET_REGISTRY_H
#define METODNET_REGISTRY_H

#include <stddef.h>
#include <uv.h>

#include "config.h"
#include "redis_link.h"
#include "service_worker.h"

typedef struct registry registry;

/* link is borrowed and must outlive the registry. Returns NULL on failure. */
registry *registry_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link);

/* The method table (for tests and for the gateway's route check). */
const service_methods *registry_methods(void);

/* Stops taking requests, lets running ones finish, frees the registry, then calls done. */
void registry_shutdown(registry *reg, void (*done)(void *ud), void *ud);

#endif
