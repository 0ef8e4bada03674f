/* auth — the auth service: users with roles and scopes, password logins with sessions, API keys for
 * school systems, and the audit trail's reader. Keys and rules: auth_model.h.
 *
 * Methods (request → response, proto/auth.proto):
 *   CreateUser(CreateUserRequest) → User        a strictly lower role, inside the caller's scope; the
 *                                                scope's target is looked up in the registry
 *   GetUser(GetRequest) → User                  audited as a read of a person's record
 *   ListUsers(ListUsersRequest) → ListUsersResponse   only the caller's scope
 *   SetUserDisabled(SetUserDisabledRequest) → User    ends the user's sessions
 *   ResetPassword(ResetPasswordRequest) → User         ends the user's sessions
 *   Me(MeRequest) → User                        the caller's own user (NOT_FOUND for system callers)
 *   Login(LoginRequest) → LoginResponse         ROLE_SYSTEM callers only (the gateway)
 *   Logout(LogoutRequest) → LogoutResponse
 *   Authenticate(AuthenticateRequest) → AuthenticateResponse   ROLE_SYSTEM callers only (the gateway)
 *   CreateApiKey(CreateApiKeyRequest) → CreateApiKeyResponse   region admins and methodologists
 *   ListApiKeys(ListApiKeysRequest) → ListApiKeysResponse
 *   RevokeApiKey(RevokeApiKeyRequest) → ApiKey
 *   ListAudit(ListAuditRequest) → ListAuditResponse            region admins (their region) and system
 */
#ifndef METODNET_AUTH_H
#define METODNET_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "entity_store.h"
#include "redis_link.h"
#include "service_worker.h"

typedef struct auth auth;

typedef struct {
    uint32_t session_idle_ms;         /* 30 min: a session unused this long ends */
    uint32_t session_absolute_ms;     /* 8 h: a session ends this long after login, used or not */
    uint32_t authenticate_cache_ms;   /* 5 s: AuthenticateResponse.valid_until ≤ now + this */
    uint32_t failure_window_ms;       /* 15 min: failure counters expire this long after the last failure */
    uint32_t free_failures;           /* 5: from this many failures on, attempts are delayed */
    uint32_t max_delay_ms;            /* 15 min: the longest delay */
    uint32_t api_key_use_interval_ms; /* 60 s: last use of an API key is written at most this often */
    uint32_t registry_timeout_ms;     /* 3 s: lookups of scope targets in the registry */
} auth_options;

void auth_options_default(auth_options *options);

/* link is borrowed and must outlive the service; options NULL = defaults. Registers "auth" with the
 * broker at cfg->broker_endpoint and opens a client to the registry through the same broker.
 * Returns NULL on failure. */
auth *auth_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link, const auth_options *options);

/* The method table (for tests and for the gateway's route check). */
const service_methods *auth_methods(void);
/* The Lua sources of the service's own scripts (n of them; the entity store's come on top), for
 * tests/unit/test_redis_acl.c, which checks each command they call against ops/redis-acl.conf. */
const char *const *auth_lua_scripts(size_t *n);

/* Stops taking requests, lets running ones finish, frees the service, then calls done. */
void auth_shutdown(auth *a, void (*done)(void *ud), void *ud);

/* ---------- bootstrap (ops/up) ---------- */

typedef enum {
    AUTH_BOOTSTRAP_CREATED = 0,
    AUTH_BOOTSTRAP_EXISTS,      /* the region already has a region administrator */
    AUTH_BOOTSTRAP_LOGIN_TAKEN, /* another user has this login */
    AUTH_BOOTSTRAP_INVALID,     /* bad region, login, password or name; message says which */
    AUTH_BOOTSTRAP_FAILED,      /* Redis unreachable or hashing failed */
} auth_bootstrap_result;

/* message is Russian, borrowed for the call; user_id set when CREATED. */
typedef void (*auth_bootstrap_cb)(auth_bootstrap_result result, const char *user_id, const char *message, void *ud);

/* NULL when the arguments of auth_bootstrap_admin are acceptable, else a Russian sentence saying
 * what is wrong (borrowed, static). region: two digits ("07"). */
const char *auth_bootstrap_check(const char *region, const char *login, const char *full_name, const char *password);

/* Creates the first region administrator of region directly in the store (no broker, no registry:
 * the region may be loaded later), unless that region has one already — atomically, so two
 * concurrent runs create one. The event and the audit entry name a ROLE_SYSTEM actor. cb exactly
 * once, never from inside the call. Returns 0, or -1 with cb not called (arguments that
 * auth_bootstrap_check refuses, or no memory). */
int auth_bootstrap_admin(uv_loop_t *loop, redis_link *link, const char *region, const char *login,
                         const char *full_name, const char *password, auth_bootstrap_cb cb, void *ud);

#endif
