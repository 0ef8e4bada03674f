/* registry_claim_guard — audit and a per-user limit for refused external-id claims (docs/security.md).
 *
 * External ids (СНИЛС-like) are unique across a region, so a create or an import row naming an id that
 * a record outside the caller's scope holds must be refused, and the refusal itself tells that the id
 * is taken. That disclosure cannot be avoided; it is made visible and bounded instead:
 *  - the refusal reads the same whatever the scope of the holder (REGISTRY_EXTERNAL_ID_TAKEN_RU);
 *  - each refusal on an id held outside the caller's scope is audited (action "claim_refused", the
 *    holder's kind and id);
 *  - such refusals are counted per caller in reg:{g}:claimrefusals:<user id> (a hash: n — refusals,
 *    s — the window's start in ms; it expires with the window, so the registry's Redis user needs
 *    PEXPIRE); a caller with `limit` refusals in the window gets TOO_MANY_REQUESTS for every create
 *    and import that names an external id — free or taken alike — until the window ends.
 * Limits: METODNET_CLAIM_REFUSAL_LIMIT (default 20) refusals per METODNET_CLAIM_REFUSAL_WINDOW_S
 * (default 3600) seconds.
 */
#ifndef METODNET_REGISTRY_CLAIM_GUARD_H
#define METODNET_REGISTRY_CLAIM_GUARD_H

#include <stdint.h>

#include "audit.h"
#include "redis_link.h"
#include "service_worker.h"

/* The one answer for an external id another record holds, whoever holds it. */
#define REGISTRY_EXTERNAL_ID_TAKEN_RU "Этот внешний идентификатор уже у другой записи региона"
/* The answer while the caller is over the limit. */
#define REGISTRY_CLAIM_LIMIT_RU                                                                                                                                                            \
    "Слишком много отказов по внешним идентификаторам чужих записей: повторите позже или обратитесь к " \
    "администратору региона"

typedef struct registry_claim_guard registry_claim_guard;

/* link and audit are borrowed and must outlive the guard. Reads the limits from the environment.
 * NULL when out of memory or the script cannot be registered. */
registry_claim_guard *registry_claim_guard_new(redis_link *link, audit *audit);
void registry_claim_guard_destroy(registry_claim_guard **guard);

/* status 0: left = refusals the caller may still have in this window (0 = over the limit), retry_after
 * = seconds until the window ends (with left == 0); status -1: Redis failed (logged), left = 0. */
typedef void (*registry_claim_budget_cb)(int status, int left, int32_t retry_after_seconds, void *ud);

/* Reads the budget of the call's caller. The system and global callers are never limited (left is
 * INT_MAX). cb is called exactly once, never from inside this call. Returns 0, or -1 with cb not
 * called. */
int registry_claim_guard_budget(registry_claim_guard *guard, const service_call *call, registry_claim_budget_cb cb,
                                void *ud);

/* Records one refusal of the call's caller on external id of holder_id (a record of holder_kind,
 * "staff" or "organization", in region): an audit entry and the counter. Fire and forget: failures
 * are logged. */
void registry_claim_guard_refused(registry_claim_guard *guard, const service_call *call, const char *holder_kind,
                                  const char *holder_id, const char *region);

/* The Lua source of its script (the refusal counter), for tests/unit/test_redis_acl.c. */
const char *const *registry_claim_guard_lua_scripts(size_t *n);

#endif
