/* auth_api_keys — API keys of school systems: CreateApiKey, ListApiKeys (with their last use),
 * RevokeApiKey. */
#include "auth_internal.h"
#include "xalloc.h"

/* ---------- API keys ---------- */

static bool s_may_hold_keys(const Metodnet__Principal *caller)
{
    return auth_is_system(caller) || caller->role == METODNET__ROLE__ROLE_REGION_ADMIN ||
           caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST;
}

static void s_key_territory(const Metodnet__ApiKey *key, auth_territory *out)
{
    memset(out, 0, sizeof *out);
    out->object.region_id = key->region_id;
    if (key->municipality_id && *key->municipality_id) {
        out->municipalities[0] = key->municipality_id;
        out->object.municipality_ids = out->municipalities;
        out->object.n_municipalities = 1;
    }
    if (key->scope && key->scope->kind == METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION) {
        out->organizations[0] = key->scope->id;
        out->object.organization_ids = out->organizations;
        out->object.n_organizations = 1;
    }
}

static bool s_key_allows(const op *o, const Metodnet__ApiKey *key, scope_access access)
{
    auth_territory territory;
    s_key_territory(key, &territory);
    return scope_allows(auth_caller(o), &territory.object, access);
}

/* API keys are seen only by those who may issue and revoke them, and only where they may
 * (docs/security.md): a methodologist sees the keys of its municipality's schools, not a key scoped
 * to the municipality itself; a school administrator, a teacher or a key sees none. A key the caller
 * may not see answers exactly as one that does not exist. */
static bool s_key_visible(const op *o, const Metodnet__ApiKey *key)
{
    return s_may_hold_keys(auth_caller(o)) && s_key_allows(o, key, SCOPE_WRITE);
}

static void s_api_key_created(entity_result result, int64_t detail, const char *error, void *ud)
{
    (void)detail;
    op *o = ud;
    if (result != ENTITY_OK) {
        auth_unavailable(o, "запись ключа API не удалась", error);
        return;
    }
    /* the secret leaves the service once, in this reply; the op's copy is wiped when it is freed */
    Metodnet__CreateApiKeyResponse reply = METODNET__CREATE_API_KEY_RESPONSE__INIT;
    reply.key = o->next_key;
    reply.secret = o->token;
    audit_event e;
    audit_event_from_call(&e, o->call);
    e.action = "create";
    e.object_kind = "api_key";
    e.object_id = o->next_key->id;
    e.region_id = o->next_key->region_id;
    if (audit_record(o->a->audit, &e, NULL, NULL) != 0)
        log_error(service_call_request_id(o->call), "запись в журнал аудита не поставлена в очередь");
    auth_reply(o, &reply.base);
}

static void s_api_key_id(entity_result result, int64_t value, const char *error, void *ud)
{
    op *o = ud;
    if (result != ENTITY_OK) {
        auth_unavailable(o, "не удалось выдать идентификатор", error);
        return;
    }
    char id[32], now[40], prefix[16];
    snprintf(id, sizeof id, "k%lld", (long long)value);
    auth_now(now, sizeof now);
    auth_token_new(AUTH_API_KEY_TOKEN_PREFIX, o->token, sizeof o->token);
    auth_token_hash(o->token, o->token_hash, sizeof o->token_hash);
    snprintf(prefix, sizeof prefix, "%.10s", o->token);
    auth_set_text(&o->next_key->id, id);
    auth_set_text(&o->next_key->created_at, now);
    auth_set_text(&o->next_key->prefix, prefix);
    o->next_key->version = 1;
    auth_store_meta meta = {auth_caller(o), service_call_request_id(o->call), "api_key.created"};
    if (auth_store_api_key_write(o->a->store, NULL, o->next_key, o->token_hash, &meta, s_api_key_created, o) != 0)
        auth_unavailable(o, "запись ключа API не поставлена в очередь", NULL);
}

static void s_api_key_target(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    Metodnet__ApiKey *key = o->next_key;
    bool organization = key->scope->kind == METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION;
    if (!auth_registry_ok(o, status, "scope.id",
                          organization ? "Организация не найдена" : "Муниципальное образование не найдено"))
        return;
    if (organization) {
        const Metodnet__Organization *org = (const Metodnet__Organization *)response;
        auth_set_text(&key->region_id, org->region_id);
        auth_set_text(&key->municipality_id, org->municipality_id);
    } else {
        const Metodnet__Municipality *m = (const Metodnet__Municipality *)response;
        auth_set_text(&key->region_id, m->region_id);
        auth_set_text(&key->municipality_id, m->id);
    }
    if (!s_key_allows(o, key, SCOPE_READ)) {
        /* outside what the caller may read: the answer for a target that does not exist */
        validation_add(&o->v, "scope.id", "%s",
                       organization ? "Организация не найдена" : "Муниципальное образование не найдено");
        auth_fail_validation(o);
        return;
    }
    if (!s_key_allows(o, key, SCOPE_WRITE)) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
                  "Ключ API можно выдать только в пределах своей области");
        return;
    }
    if (entity_store_next_id(o->a->store, AUTH_APIKEY_SEQUENCE, s_api_key_id, o) != 0)
        auth_unavailable(o, "не удалось запросить идентификатор", NULL);
}

void auth_create_api_key(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = auth_op_new(ud, call, request);
    const Metodnet__CreateApiKeyRequest *req = (const Metodnet__CreateApiKeyRequest *)request;
    const Metodnet__Principal *caller = auth_caller(o);
    if (!s_may_hold_keys(caller)) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
                  "Выдавать ключи API могут администратор региона и методисты");
        return;
    }
    validate_text(&o->v, "name", req->name, 200, true);
    const char *scope_id = req->scope && req->scope->id ? req->scope->id : "";
    char region[8] = "";
    if (req->scope == NULL || (req->scope->kind != METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY &&
                               req->scope->kind != METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION))
        validation_add(&o->v, "scope.kind", "Область ключа API — municipality или organization");
    if (validate_id(&o->v, "scope.id", scope_id, true) && !auth_region_of(scope_id, region, sizeof region))
        validation_add(&o->v, "scope.id", "Неверный идентификатор области");
    if (!validation_ok(&o->v)) {
        auth_fail_validation(o);
        return;
    }
    if (!scope_is_global(caller) && strcmp(region, caller->region_id ? caller->region_id : "") != 0) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
                  "Ключ API можно выдать только в пределах своей области");
        return;
    }
    Metodnet__ApiKey key = METODNET__API_KEY__INIT;
    Metodnet__ScopeRef scope = METODNET__SCOPE_REF__INIT;
    scope.kind = req->scope->kind;
    scope.id = (char *)scope_id;
    key.name = req->name;
    key.scope = &scope;
    key.created_by = caller->user_id;
    o->next_key = auth_own(&key.base);
    bool organization = scope.kind == METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION;
    auth_registry_get(o, organization ? "GetOrganization" : "GetMunicipality", scope_id,
                      organization ? &metodnet__organization__descriptor : &metodnet__municipality__descriptor,
                      s_api_key_target);
}

/* ListApiKeys: the page, then the last-use times of its keys in one MGET. */
typedef struct {
    op *o;
    Metodnet__StoredApiKey **stored;
    Metodnet__ApiKey **keys;
    size_t n;
    char *cursor;
} key_page;

static void s_key_page_reply(key_page *page, const redisReply *used)
{
    for (size_t i = 0; i < page->n; i++) {
        if (used && used->type == REDIS_REPLY_ARRAY && i < used->elements &&
            used->element[i]->type == REDIS_REPLY_STRING) {
            char at[40];
            clock_rfc3339(strtoll(used->element[i]->str, NULL, 10), at, sizeof at);
            auth_set_text(&page->keys[i]->last_used_at, at);
        }
    }
    Metodnet__ListApiKeysResponse response = METODNET__LIST_API_KEYS_RESPONSE__INIT;
    response.items = page->keys;
    response.n_items = page->n;
    response.next_cursor = page->cursor ? page->cursor : (char *)"";
    service_call_reply(page->o->call, &response.base);
    for (size_t i = 0; i < page->n; i++)
        metodnet__stored_api_key__free_unpacked(page->stored[i], NULL);
    free(page->stored);
    free(page->keys);
    free(page->cursor);
    auth_op_free(page->o);
    free(page);
}

static void s_key_uses_read(const redisReply *reply, const char *error, void *ud)
{
    key_page *page = ud;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
        log_warn(service_call_request_id(page->o->call), "время использования ключей не прочитано: %s",
                 error ? error : "неожиданный ответ");
    s_key_page_reply(page, reply);
}

static void s_api_keys_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                              const char *error, void *ud)
{
    op *o = ud;
    if (result != ENTITY_OK) {
        auth_unavailable(o, "список ключей API не получен", error);
        return;
    }
    key_page *page = xcalloc(1, sizeof *page);
    page->o = o;
    page->stored = calloc(n ? n : 1, sizeof *page->stored);
    page->keys = calloc(n ? n : 1, sizeof *page->keys);
    if (page->stored == NULL || page->keys == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        Metodnet__StoredApiKey *s = metodnet__stored_api_key__unpack(NULL, items[i].len, items[i].data);
        if (s == NULL || s->key == NULL || !s_key_visible(o, s->key)) {
            if (s)
                metodnet__stored_api_key__free_unpacked(s, NULL);
            continue;
        }
        page->stored[page->n] = s;
        page->keys[page->n] = s->key;
        page->n++;
    }
    page->cursor = next_member ? cursor_encode(next_member) : NULL;
    if (page->n == 0) {
        s_key_page_reply(page, NULL);
        return;
    }
    const char **argv = calloc(page->n + 1, sizeof *argv);
    char(*keys)[AUTH_KEY_MAX] = calloc(page->n, sizeof *keys);
    if (argv == NULL || keys == NULL)
        abort();
    argv[0] = "MGET";
    for (size_t i = 0; i < page->n; i++) {
        auth_api_key_used_key(page->keys[i]->id, keys[i], AUTH_KEY_MAX);
        argv[i + 1] = keys[i];
    }
    int rc = redis_link_command(o->a->link, s_key_uses_read, page, (int)page->n + 1, argv, NULL);
    free(argv);
    free(keys);
    if (rc != 0)
        s_key_page_reply(page, NULL);
}

void auth_list_api_keys(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = auth_op_new(ud, call, request);
    const Metodnet__ListApiKeysRequest *req = (const Metodnet__ListApiKeysRequest *)request;
    const Metodnet__Principal *caller = auth_caller(o);
    if (!s_may_hold_keys(caller)) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, auth_denied_ru);
        return;
    }
    size_t limit;
    char after[CURSOR_MAX_MEMBER + 1];
    if (!auth_page(&o->v, req->limit, req->cursor, &limit, after, sizeof after)) {
        auth_fail_validation(o);
        return;
    }
    char index[AUTH_KEY_MAX];
    if (auth_is_system(caller))
        snprintf(index, sizeof index, "auth:{g}:ix:apikeys");
    else if (caller->role == METODNET__ROLE__ROLE_REGION_ADMIN)
        snprintf(index, sizeof index, "auth:{g}:ix:apikeys:r:%s", caller->scope_id);
    else
        snprintf(index, sizeof index, "auth:{g}:ix:apikeys:m:%s", caller->scope_id);
    entity_list_query query = {
        .index_key = index,
        .after_member = after[0] ? after : NULL,
        .entity_key_prefix = AUTH_APIKEY_PREFIX,
        .limit = limit,
    };
    if (entity_store_list(o->a->store, &query, s_api_keys_listed, o) != 0)
        auth_unavailable(o, "список ключей API не поставлен в очередь", NULL);
}

static void s_api_key_revoked(entity_result result, int64_t detail, const char *error, void *ud)
{
    (void)detail;
    op *o = ud;
    if (result == ENTITY_VERSION_MISMATCH || result == ENTITY_NOT_FOUND) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT, auth_conflict_ru);
        return;
    }
    if (result != ENTITY_OK) {
        auth_unavailable(o, "запись ключа API не удалась", error);
        return;
    }
    o->response = &o->next_key->base;
    auth_audit_reply(o, "revoke", "api_key", o->next_key->id, o->next_key->region_id);
}

static void s_api_key_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                             void *ud)
{
    (void)version;
    op *o = ud;
    if (result == ENTITY_NOT_FOUND) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, auth_key_not_found_ru);
        return;
    }
    if (result != ENTITY_OK) {
        auth_unavailable(o, "чтение ключа API не удалось", error);
        return;
    }
    o->stored_key = metodnet__stored_api_key__unpack(NULL, len, data);
    if (o->stored_key == NULL || o->stored_key->key == NULL || o->stored_key->key->scope == NULL) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Запись повреждена; сообщите администратору");
        return;
    }
    const Metodnet__ApiKey *key = o->stored_key->key;
    if (!s_key_visible(o, key)) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, auth_key_not_found_ru);
        return;
    }
    if (key->revoked) {
        auth_reply(o, &o->stored_key->key->base);
        return;
    }
    o->next_key = auth_own(&key->base);
    o->next_key->revoked = true;
    o->next_key->version = key->version + 1;
    auth_store_meta meta = {auth_caller(o), service_call_request_id(o->call), "api_key.revoked"};
    if (auth_store_api_key_write(o->a->store, key, o->next_key, o->stored_key->secret_hash, &meta, s_api_key_revoked,
                                 o) != 0)
        auth_unavailable(o, "запись ключа API не поставлена в очередь", NULL);
}

void auth_revoke_api_key(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = auth_op_new(ud, call, request);
    const Metodnet__RevokeApiKeyRequest *req = (const Metodnet__RevokeApiKeyRequest *)request;
    char key[AUTH_KEY_MAX];
    if (!auth_api_key_key(req->id, key, sizeof key)) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, auth_key_not_found_ru);
        return;
    }
    if (entity_store_get(o->a->store, key, s_api_key_loaded, o) != 0)
        auth_unavailable(o, "чтение ключа API не поставлено в очередь", NULL);
}
