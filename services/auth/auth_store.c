/* auth_store — atomic entity writes of users and API keys (see header). */
#include "auth_store.h"

#include <stdlib.h>
#include <string.h>

#include "auth_model.h"
#include "entity_kind.h"
#include "xalloc.h"

static uint8_t *s_pack(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *data = xmalloc(*len ? *len : 1);
    protobuf_c_message_pack(msg, data);
    return data;
}

static uint8_t *s_event(const ProtobufCMessage *entity, const char *id, int64_t version, const auth_store_meta *meta,
                        size_t *len)
{
    size_t entity_len;
    uint8_t *entity_bytes = s_pack(entity, &entity_len);
    uint8_t *bytes =
        entity_event_pack(meta->event_type, id, version, entity_bytes, entity_len, meta->actor, meta->request_id, len);
    free(entity_bytes);
    return bytes;
}

static int s_write_user(entity_store *store, const Metodnet__User *old_user, const Metodnet__User *user,
                        const char *password_hash, bool only_region_admin, const auth_store_meta *meta,
                        entity_write_cb cb, void *ud)
{
    char key[AUTH_KEY_MAX];
    if (!auth_user_key(user->id, key, sizeof key))
        return -1;
    Metodnet__StoredUser stored = METODNET__STORED_USER__INIT;
    stored.user = (Metodnet__User *)user;
    stored.password_hash = (char *)(password_hash ? password_hash : "");
    size_t data_len, event_len;
    uint8_t *data = s_pack(&stored.base, &data_len);
    uint8_t *event = s_event(&user->base, user->id, user->version, meta, &event_len);

    auth_layout layouts[2];
    entity_layout_init(&layouts[0]);
    entity_layout_init(&layouts[1]);
    auth_user_layout(user, &layouts[0]);
    if (old_user)
        auth_user_layout(old_user, &layouts[1]);
    entity_index_entry *adds = xcalloc(layouts[0].n_indexes + 1, sizeof *adds);
    entity_index_entry *removes = xcalloc(layouts[1].n_indexes + 1, sizeof *removes);
    char guard[1][AUTH_KEY_MAX];
    const char *must_be_empty[1];
    size_t n_empty = 0;

    entity_write w = {0};
    w.entity_key = key;
    w.expected_version = old_user ? old_user->version : 0;
    w.new_version = user->version;
    w.data = data;
    w.data_len = data_len;
    w.attributes = layouts[0].attributes;
    w.n_index_add = entity_layout_index_difference(&layouts[0], old_user ? &layouts[1] : NULL, adds);
    w.index_add = adds;
    if (old_user) {
        w.n_index_remove = entity_layout_index_difference(&layouts[1], &layouts[0], removes);
        w.index_remove = removes;
    } else {
        if (only_region_admin) {
            auth_region_admin_index(user->region_id, guard[n_empty], AUTH_KEY_MAX);
            must_be_empty[n_empty] = guard[n_empty];
            n_empty++;
        }
        w.must_be_empty = must_be_empty;
        w.n_must_be_empty = n_empty;
    }
    w.stream_key = AUTH_EVENTS;
    w.event = event;
    w.event_len = event_len;
    /* the login is a claim: unique, and how a login finds its user */
    entity_claim *claims = xcalloc(layouts[0].n_claims + 1, sizeof *claims);
    entity_claim *releases = xcalloc(layouts[1].n_claims + 1, sizeof *releases);
    entity_layout_claims(old_user ? &layouts[1] : NULL, &layouts[0], user->id, claims, &w.n_claims, releases,
                         &w.n_releases);
    w.claims = claims;
    w.releases = releases;
    int rc = entity_store_write(store, &w, cb, ud);
    entity_layout_clear(&layouts[0]);
    entity_layout_clear(&layouts[1]);
    free(claims);
    free(releases);
    free(adds);
    free(removes);
    free(event);
    free(data);
    return rc;
}

int auth_store_user_create(entity_store *store, const Metodnet__User *user, const char *password_hash,
                           bool only_region_admin, const auth_store_meta *meta, entity_write_cb cb, void *ud)
{
    return s_write_user(store, NULL, user, password_hash, only_region_admin, meta, cb, ud);
}

int auth_store_user_update(entity_store *store, const Metodnet__User *old_user, const Metodnet__User *new_user,
                           const char *password_hash, const auth_store_meta *meta, entity_write_cb cb, void *ud)
{
    return s_write_user(store, old_user, new_user, password_hash, false, meta, cb, ud);
}

int auth_store_api_key_write(entity_store *store, const Metodnet__ApiKey *old_key, const Metodnet__ApiKey *new_key,
                             const char *secret_hash, const auth_store_meta *meta, entity_write_cb cb, void *ud)
{
    char key[AUTH_KEY_MAX];
    if (!auth_api_key_key(new_key->id, key, sizeof key))
        return -1;
    Metodnet__StoredApiKey stored = METODNET__STORED_API_KEY__INIT;
    stored.key = (Metodnet__ApiKey *)new_key;
    stored.secret_hash = (char *)(secret_hash ? secret_hash : "");
    size_t data_len, event_len;
    uint8_t *data = s_pack(&stored.base, &data_len);
    uint8_t *event = s_event(&new_key->base, new_key->id, new_key->version, meta, &event_len);
    auth_layout layouts[2];
    entity_layout_init(&layouts[0]);
    entity_layout_init(&layouts[1]);
    auth_api_key_layout(new_key, secret_hash, &layouts[0]);
    if (old_key)
        auth_api_key_layout(old_key, secret_hash, &layouts[1]);
    entity_index_entry *adds = xcalloc(layouts[0].n_indexes + 1, sizeof *adds);
    entity_index_entry *removes = xcalloc(layouts[1].n_indexes + 1, sizeof *removes);
    entity_write w = {0};
    w.entity_key = key;
    w.expected_version = old_key ? old_key->version : 0;
    w.new_version = new_key->version;
    w.data = data;
    w.data_len = data_len;
    w.attributes = layouts[0].attributes;
    w.n_index_add = entity_layout_index_difference(&layouts[0], old_key ? &layouts[1] : NULL, adds);
    w.index_add = adds;
    if (old_key) {
        w.n_index_remove = entity_layout_index_difference(&layouts[1], &layouts[0], removes);
        w.index_remove = removes;
    }
    w.stream_key = AUTH_EVENTS;
    w.event = event;
    w.event_len = event_len;
    int rc = entity_store_write(store, &w, cb, ud);
    entity_layout_clear(&layouts[0]);
    entity_layout_clear(&layouts[1]);
    free(adds);
    free(removes);
    free(event);
    free(data);
    return rc;
}
