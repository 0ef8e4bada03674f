/* monitoring — the monitoring service (MDP "monitoring", Redis user "monitoring", keys "mon:{r:R}:…"):
 * campaigns of a period's monitoring (form, scope, deadline, open/close/reopen), the schools' reports
 * (draft, submit, approve, return; one Lua script each, so the reporting peak is one Redis round trip a
 * submit), progress per municipality and the versioned snapshot of approved values frozen at each close
 * (which also asks the indicators service for its snapshot of the period). docs/monitoring.md.
 */
#ifndef METODNET_MONITORING_H
#define METODNET_MONITORING_H

#include <uv.h>

#include "config.h"
#include "redis_link.h"
#include "service_worker.h"

typedef struct monitoring_service monitoring_service;

monitoring_service *monitoring_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link);
void monitoring_shutdown(monitoring_service *svc, void (*done)(void *ud), void *ud);
const service_methods *monitoring_methods(void);
/* The Lua sources of the service's own scripts, for tests/unit/test_redis_acl.c. */
const char *const *monitoring_lua_scripts(size_t *n);

#endif
