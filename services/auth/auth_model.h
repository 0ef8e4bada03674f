/* auth_model — the auth service's rules and Redis layout as plain functions (no I/O): login and
 * password policy, role ranks and role ↔ scope kinds, a user's territory for scope checks, the keys,
 * index entries and attribute tokens of users and API keys, token formats and hashing, and the
 * growing delay of the login rate limit.
 *
 * Key layout (one hash tag, {g}: users and keys are looked up by login or token before the region is
 * known):
 *   auth:{g}:user:<u12>               user entity (entity_store hash v/d/a; d = packed StoredUser)
 *   auth:{g}:claim:user:login         hash login → "<u12>": the login's owner (uniqueness + lookup)
 *   auth:{g}:ix:users                 zset "<login>\x1f<u12>", every user (global callers)
 *   auth:{g}:ix:users:r:<R>           … users of region R; :m:<M> of municipality M; :o:<O> of org O
 *   auth:{g}:ix:region-admin:<R>      zset {"<u12>"}: region administrators of R (bootstrap guard)
 *   auth:{g}:apikey:<k7>              API key entity (d = packed ApiKey, never the secret)
 *   auth:{g}:apikey-secret:<sha256>   zset {"<k7>"}: the key's owner by secret hash (removed on revoke)
 *   auth:{g}:ix:apikeys[:r:<R>|:m:<M>] zset "<folded name>\x1f<k7>"
 *   auth:{g}:apikey-used:<k7>         string: last use, Unix ms (written at most once a minute)
 *   auth:{g}:session:<sha256>         hash {p: packed Principal, u: user id, c: created ms}, PEXPIRE idle
 *   auth:{g}:user-sessions:<u12>      set of the user's session hashes (ended on disable / reset)
 *   auth:{g}:fail:login:<sha256(login)> hash {n: failures, l: last failure ms}, expires 15 min after the
 *                                     last failure (hashed: a password typed into the login field is not kept)
 *   auth:{g}:fail:addr:<address>      the same per client address
 *   auth:{g}:seq:user, auth:{g}:seq:apikey   id sequences
 *   auth:{g}:events                   domain events (user.created, user.disabled, api_key.revoked, …)
 * Attribute tokens of users: |id:<u>|role:<word>|reg:<R>|mun:<M>|org:<O>…|staff:<S>|dis:<true|false>|
 */
#ifndef METODNET_AUTH_MODEL_H
#define METODNET_AUTH_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.pb-c.h"
#include "entity_layout.h"
#include "entity_store.h"
#include "scope.h"
#include "validate.h"

#define AUTH_KEY_MAX           200
#define AUTH_MEMBER_MAX        320
#define AUTH_MAX_ORGANIZATIONS 8

#define AUTH_EVENTS      "auth:{g}:events"
#define AUTH_USER_PREFIX "auth:{g}:user:"
/* Logins are unique: a claim each (login → user id), which is also how a login finds its user. */
#define AUTH_LOGIN_CLAIMS    "auth:{g}:claim:user:login"
#define AUTH_APIKEY_PREFIX   "auth:{g}:apikey:"
#define AUTH_SESSION_PREFIX  "auth:{g}:session:"
#define AUTH_USER_SEQUENCE   "auth:{g}:seq:user"
#define AUTH_APIKEY_SEQUENCE "auth:{g}:seq:apikey"

#define AUTH_LOGIN_MIN    3
#define AUTH_LOGIN_MAX    64
#define AUTH_PASSWORD_MIN 10
#define AUTH_PASSWORD_MAX 128

/* Tokens: "mns_" (session) or "mnk_" (API key) + 32 lowercase hex digits (16 random bytes). */
#define AUTH_TOKEN_LEN            36
#define AUTH_SESSION_TOKEN_PREFIX "mns_"
#define AUTH_API_KEY_TOKEN_PREFIX "mnk_"
/* SHA-256 as 64 lowercase hex digits + NUL. */
#define AUTH_HASH_HEX 65

/* ---------- policy ---------- */

/* Lowercases login into out (at least AUTH_LOGIN_MAX + 1 bytes); false when it is not 3..64 of
 * [a-z0-9._-] after lowercasing ASCII letters. */
bool auth_login_normalize(const char *login, char *out, size_t size);
/* Adds violations for login (field "login"), password ("password", 10..128 characters, valid UTF-8)
 * and full name ("fullName", required, ≤ 200). Pass NULL to skip one. */
void auth_validate_login(validation *v, const char *login);
void auth_validate_password(validation *v, const char *field, const char *password);

/* Rank: region_admin 4 > methodologist 3 > school_admin 2 > teacher 1; other roles 0. */
int auth_role_rank(Metodnet__Role role);
/* The scope kind a user of that role must have; UNSPECIFIED for roles users cannot have. */
Metodnet__ScopeKind auth_role_scope_kind(Metodnet__Role role);
/* May caller create / manage (disable, reset) a user of role target? ROLE_SYSTEM may do anything;
 * otherwise only strictly lower ranks. */
bool auth_may_manage_role(const Metodnet__Principal *caller, Metodnet__Role target);
/* Lowercase role word ("teacher") or "none". Borrowed, static. */
const char *auth_role_word(Metodnet__Role role);

/* ---------- users ---------- */

/* Territory of a user for scope_allows(); pointers borrow from the user. */
typedef struct {
    scope_object object;
    const char *municipalities[1];
    const char *organizations[AUTH_MAX_ORGANIZATIONS];
} auth_territory;

void auth_user_territory(const Metodnet__User *user, auth_territory *out);
/* The principal a session of this user carries. Strings borrow from user. */
void auth_user_principal(const Metodnet__User *user, Metodnet__Principal *out);

/* Layouts are entity_layout (common/entity_layout.h): indexes, attribute tokens. */
typedef entity_layout auth_layout;

void auth_user_layout(const Metodnet__User *user, auth_layout *out);
void auth_api_key_layout(const Metodnet__ApiKey *key, const char *secret_hash, auth_layout *out);

/* Keys; false for an id of the wrong shape ("u12", "k7"). */
bool auth_user_key(const char *id, char *out, size_t size);
bool auth_api_key_key(const char *id, char *out, size_t size);
void auth_region_admin_index(const char *region, char *out, size_t size);
void auth_user_sessions_key(const char *user_id, char *out, size_t size);
void auth_api_key_secret_key(const char *secret_hash, char *out, size_t size);
void auth_api_key_used_key(const char *id, char *out, size_t size);
/* The failure counter of a (normalized) login: keyed by its SHA-256, so typed names are not kept. */
void auth_login_failure_key(const char *login, char *out, size_t size);

/* Region part of a registry id ("07-m1" → "07", "07" → "07"); false when it has none. */
bool auth_region_of(const char *id, char *out, size_t size);

/* ---------- tokens ---------- */

/* prefix + 32 hex digits of 16 bytes from randombytes_buf; out ≥ AUTH_TOKEN_LEN + 1. */
void auth_token_new(const char *prefix, char *out, size_t size);
/* True when token is prefix + 32 lowercase hex digits. */
bool auth_token_valid(const char *token, const char *prefix);
/* SHA-256 of the token text as lowercase hex; out ≥ AUTH_HASH_HEX. */
void auth_token_hash(const char *token, char *out, size_t size);

/* ---------- rate limit ---------- */

/* After `failures` failures, the last at last_failure_ms: milliseconds until another attempt is
 * allowed at now_ms (0 = allowed). Allowed freely up to free_failures - 1 failures; from the
 * free_failures-th on, 2^(failures - free_failures) s after the last failure, capped at cap_ms. */
int64_t auth_rate_wait_ms(int64_t failures, int64_t last_failure_ms, int64_t now_ms, int64_t free_failures,
                          int64_t cap_ms);

#endif
