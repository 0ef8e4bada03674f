/* events — the events service (MDP "events", Redis user "events", keys "ev:{r:R}:…"): the yearly plans
 * of events, events with their publication, registrations with capacity, per-municipality quotas and the
 * waitlist, attendance. Its kinds run on the entity engine (common/entity_kind.h); registration, its
 * cancellation and attendance are its own flows with one Lua script each (events_registrations.c).
 * Every change is a DomainEvent on ev:{r:R}:events: "event.published", "event.changed", "event.cancelled",
 * "event.finished", "eventPlan.approved", "eventPlan.changed", "registration.created", … (docs/events.md).
 */
#ifndef METODNET_EVENTS_H
#define METODNET_EVENTS_H

#include <uv.h>

#include "config.h"
#include "redis_link.h"
#include "service_worker.h"

typedef struct events_service events_service;

events_service *events_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link);
void events_shutdown(events_service *svc, void (*done)(void *ud), void *ud);
const service_methods *events_methods(void);
/* The Lua sources of the service's own scripts, for tests/unit/test_redis_acl.c. */
const char *const *events_lua_scripts(size_t *n);

#endif
