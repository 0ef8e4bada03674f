/* notify — the notifications service (MDP service "notify", keys "ntf:"): turns the events service's
 * domain events (ev:{r:R}:events, read with a consumer group) into notification records, keeps them in
 * a feed per region, and delivers them to webhook subscriptions per the Standard Webhooks spec with
 * retries kept in Redis. docs/notifications.md describes it for a school system's developer.
 *
 * Keys (R = region):
 *   ntf:{r:R}:webhook:<id>          a subscription (entity engine; its indexes ntf:{r:R}:ix:…)
 *   ntf:{r:R}:feed                  the notification records (a stream; the cursor is the entry id)
 *   ntf:{r:R}:src                   source entries already recorded (zset by time: no record twice)
 *   ntf:{r:R}:seq:notification      ids "R-n<k>"; ntf:{r:R}:seq:delivery ids "R-d<k>"
 *   ntf:{r:R}:dlv:<id>              a delivery (hash), ntf:{r:R}:dlvlog:<id> its attempts (list)
 *   ntf:{r:R}:ix:dlv:<webhook>      a subscription's deliveries (zset by delivery number)
 *   ntf:{r:R}:due                   deliveries by the time of their next attempt (zset, ms)
 *   ntf:{r:R}:whstat:<webhook>      the time of the last successful delivery
 */
#ifndef METODNET_NOTIFY_H
#define METODNET_NOTIFY_H

#include <uv.h>

#include "config.h"
#include "redis_link.h"
#include "service_worker.h"

typedef struct notify notify;

notify *notify_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link);
void notify_shutdown(notify *n, void (*done)(void *ud), void *ud);

const service_methods *notify_methods(void);

/* The Lua sources of the service's scripts (tests/unit/test_redis_acl.c). */
const char *const *notify_lua_scripts(size_t *n);

#endif
