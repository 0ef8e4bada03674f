/* auth_store — the auth service's entity writes through entity_store: a user or an API key, its
 * indexes (auth_model.h) and its domain event in auth:{g}:events, as one atomic script. Events carry
 * the public entity (User, ApiKey) — never the password hash or the key's secret hash.
 */
#ifndef METODNET_AUTH_STORE_H
#define METODNET_AUTH_STORE_H

#include <stdbool.h>

#include "auth.pb-c.h"
#include "entity_store.h"

typedef struct {
    const Metodnet__Principal *actor;
    const char *request_id;
    const char *event_type; /* "user.created", "user.disabled", "api_key.revoked", ... */
} auth_store_meta;

/* New user (version 1, id set). must_be_empty guards, in this order: when only_region_admin, the
 * region's region-admin index (detail 0 → an administrator exists), then the login's key (login
 * taken). cb as entity_store_write. Returns 0 or -1 (cb not called). */
int auth_store_user_create(entity_store *store, const Metodnet__User *user, const char *password_hash,
                           bool only_region_admin, const auth_store_meta *meta, entity_write_cb cb, void *ud);
/* Replaces old_user by new_user (new_user->version = old + 1, expected old->version). */
int auth_store_user_update(entity_store *store, const Metodnet__User *old_user, const Metodnet__User *new_user,
                           const char *password_hash, const auth_store_meta *meta, entity_write_cb cb, void *ud);

/* Creates (old_key NULL) or replaces an API key. secret_hash is kept with it; a revoked key loses its
 * secret lookup in the same write. */
int auth_store_api_key_write(entity_store *store, const Metodnet__ApiKey *old_key, const Metodnet__ApiKey *new_key,
                             const char *secret_hash, const auth_store_meta *meta, entity_write_cb cb, void *ud);

#endif
