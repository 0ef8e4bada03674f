/* auth_internal — what the parts of the auth service share (not a public API: the service's API is
 * auth.h). The parts: auth.c (the service, the method table, the Lua scripts, the op lifecycle,
 * loading users, registry lookups, list helpers, ListAudit), auth_users.c (CreateUser, GetUser,
 * SetUserDisabled, ResetPassword, ListUsers), auth_sessions.c (Login, Authenticate, Logout, Me),
 * auth_api_keys.c (CreateApiKey, ListApiKeys, RevokeApiKey), auth_bootstrap.c (the first
 * administrator).
 */
#ifndef METODNET_AUTH_INTERNAL_H
#define METODNET_AUTH_INTERNAL_H

#include "auth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "audit.h"
#include "auth.pb-c.h"
#include "auth_service.pb-c.h"
#include "auth_model.h"
#include "auth_password.h"
#include "auth_store.h"
#include "clock.h"
#include "cursor.h"
#include "log.h"
#include "pbfield.h"
#include "registry.pb-c.h"
#include "service_client.h"

struct auth {
    uv_loop_t *loop;
    service_worker *worker;
    entity_store *store;
    redis_link *link;
    service_client *registry;
    audit *audit;
    auth_options options;
    redis_script *session_create;
    redis_script *session_touch;
    redis_script *session_end;
    redis_script *user_sessions_end;
    redis_script *rate_check;
    redis_script *rate_fail;
    redis_script *key_used;
};

/* One request in flight: a small state machine on the loop; each step ends by answering the call
 * (auth_fail, auth_fail_validation, auth_reply, auth_unavailable: these free the op) or by handing the
 * op to the next callback. */
typedef struct op op;
typedef void (*op_step)(op *o);

struct op {
    auth *a;
    service_call *call;
    const ProtobufCMessage *request; /* owned by the call */
    Metodnet__StoredUser *stored;    /* loaded user */
    Metodnet__User *next;            /* new state of a user */
    Metodnet__StoredApiKey *stored_key;
    Metodnet__ApiKey *next_key;
    ProtobufCMessage *response; /* what to reply after the audit entry, borrowed from the op */
    op_step after_load;
    char password_hash[AUTH_PASSWORD_HASH_MAX];
    char login[AUTH_LOGIN_MAX + 1];
    bool login_valid;
    char address[72];
    char token[AUTH_TOKEN_LEN + 1];
    char token_hash[AUTH_HASH_HEX];
    char fail_keys[2][AUTH_KEY_MAX];
    int n_fail_keys;
    bool flag; /* SetUserDisabled: the wanted state */
    char expires[40];
    Metodnet__LoginResponse login_response; /* borrows token, expires and the stored user */
    validation v;
};

/* ---------- auth.c: wording, the op lifecycle, loading users, registry lookups, lists ---------- */

/* Adds the list token name=value (folded into text[*n]) to tokens; at most 6. */
void auth_add_list_token(const char **tokens, char (*text)[160], size_t *n, const char *name, const char *value);

/* The change is stored: one audit entry as the caller, and the reply. The audit is not waited for
 * (docs/security.md, one audit policy): the change stands whatever happens to its entry, and a
 * failure to append it is logged. */
void auth_audit_reply(op *o, const char *action, const char *kind, const char *object_id, const char *region);

/* Message of a refused login (the same whatever was wrong). */
extern const char *const auth_bad_credentials_ru;

/* The principal of o's call. Borrowed. */
const Metodnet__Principal *auth_caller(const op *o);

/* The caller may see the user, and change it when its rank is higher (or it is the system). */
bool auth_check_manage(op *o);

/* Message of CONFLICT (changed concurrently). */
extern const char *const auth_conflict_ru;

/* Message of PERMISSION_DENIED. */
extern const char *const auth_denied_ru;

/* Answers the call with code and message and frees o. */
void auth_fail(op *o, Metodnet__StatusCode code, const char *message);

/* Answers the call with o's validation violations and frees o. */
void auth_fail_validation(op *o);

/* Message of a method only the gateway may call. */
extern const char *const auth_gateway_only_ru;

/* Whether caller is the system (a service, global scope). */
bool auth_is_system(const Metodnet__Principal *caller);

/* Message of NOT_FOUND for an API key. */
extern const char *const auth_key_not_found_ru;

/* Loads the user id into o->stored, then calls after; a missing user answers NOT_FOUND. */
void auth_load_user(op *o, const char *id, op_step after);

/* Message of UNAUTHENTICATED. */
extern const char *const auth_login_required_ru;

/* Writes the current time, RFC 3339, into buf. */
void auth_now(char *buf, size_t size);

/* Frees o and everything it owns (not the call). */
void auth_op_free(op *o);

/* A new op for call (aborts on out of memory). */
op *auth_op_new(auth *a, service_call *call, const ProtobufCMessage *request);

/* Deep copy of a message whose strings may be borrowed: the result is owned (free_unpacked). */
void *auth_own(const ProtobufCMessage *msg);

/* Validates limit and cursor of a list request; fills after (the decoded cursor) or "". */
bool auth_page(validation *v, int32_t limit_in, const char *cursor, size_t *limit, char *after, size_t size);

/* Asks the registry for the entity with id (as the system: the caller's scope is checked here). */
void auth_registry_get(op *o, const char *method, const char *id, const ProtobufCMessageDescriptor *response,
                       service_client_cb cb);

/* True when the lookup answered OK; otherwise the op is answered (and freed). */
bool auth_registry_ok(op *o, const Metodnet__Status *status, const char *field, const char *not_found_ru);

/* Message of UNAVAILABLE when the registry does not answer. */
extern const char *const auth_registry_unavailable_ru;

/* Answers the call with response and frees o. */
void auth_reply(op *o, const ProtobufCMessage *response);

/* Replaces the organization ids of user with copies of ids. */
void auth_set_organizations(Metodnet__User *user, char *const *ids, size_t n);

/* Replaces a string field of an unpacked message (default allocator). An unset field points at
 * protobuf-c's shared empty string, which must not be freed. */
void auth_set_text(char **field, const char *value);

/* Logs what failed (and error) and answers UNAVAILABLE; frees o. */
void auth_unavailable(op *o, const char *what, const char *error);

/* Whether the caller's scope allows access to user's territory. */
bool auth_user_allows(const op *o, const Metodnet__User *user, scope_access access);

/* Message of NOT_FOUND for a user. */
extern const char *const auth_user_not_found_ru;

/* Users are seen only below in rank, or oneself (docs/security.md): a school administrator sees its
 * teachers, not the municipality's methodologists or the region's administrators, although their
 * records lie in territory enclosing the school (scope_allows lets a caller read the region and
 * municipality it lives in, which is right for those records and wrong for the people scoped to
 * them). School systems (API keys) see no user accounts, as ListUsers refuses them too. A user the
 * caller may not see answers exactly as one that does not exist. */
bool auth_user_visible(const op *o, const Metodnet__User *user);

/* ---------- method handlers (service_handler_fn), in the method table of auth.c ---------- */

void auth_create_user(service_call *call, const ProtobufCMessage *request, void *ud);
void auth_get_user(service_call *call, const ProtobufCMessage *request, void *ud);
void auth_list_users(service_call *call, const ProtobufCMessage *request, void *ud);
void auth_reset_password(service_call *call, const ProtobufCMessage *request, void *ud);
void auth_set_user_disabled(service_call *call, const ProtobufCMessage *request, void *ud);
void auth_authenticate(service_call *call, const ProtobufCMessage *request, void *ud);
void auth_login(service_call *call, const ProtobufCMessage *request, void *ud);
void auth_logout(service_call *call, const ProtobufCMessage *request, void *ud);
void auth_me(service_call *call, const ProtobufCMessage *request, void *ud);
void auth_create_api_key(service_call *call, const ProtobufCMessage *request, void *ud);
void auth_list_api_keys(service_call *call, const ProtobufCMessage *request, void *ud);
void auth_revoke_api_key(service_call *call, const ProtobufCMessage *request, void *ud);

#endif
