/* auth — the auth service's handlers (see auth.h; rules and keys in auth_model.h).
 *
 * Every operation is a small state machine on the loop, like the registry's: load → check scope and
 * rank → (look up the scope's target in the registry) → (hash on the threadpool) → one atomic
 * entity_store write → audit entry → reply. Scope rules: an object the caller may not read answers
 * NOT_FOUND (its existence is not revealed); one it may read but not change answers
 * PERMISSION_DENIED. Secrets (passwords, tokens, API-key secrets) are never logged, audited or put
 * into events; only their hashes are stored.
 *
 * This file: the service, the method table, the Lua scripts, and what every flow shares (the op
 * lifecycle, loading users, registry lookups, list helpers), and ListAudit. The flows are in
 * auth_users.c, auth_sessions.c, auth_api_keys.c and auth_bootstrap.c; auth_internal.h declares what
 * they share.
 */
#include "auth_internal.h"
#include "xalloc.h"

/* ---------- Lua scripts (every key shares the {g} tag, so each script stays in one slot) ---------- */

/* KEYS: session, user-sessions set, user entity, the login's failure counter.
 * ARGV: packed principal, user id, created ms, idle ms, the user's version at verification,
 * absolute ms, session hash. Refuses (0) when the user changed (password reset, disabled) since the
 * password was checked. Redis does not roll a script back, so the ACL is asked about every write first
 * (a session without its expiry must never be left behind). */
static const char s_lua_session_create[] =
    "local v = redis.call('HGET', KEYS[3], 'v')\n"
    "if not v or v ~= ARGV[5] then return 0 end\n"
    "local a = redis.call('HGET', KEYS[3], 'a') or ''\n"
    "if not string.find(a, '|dis:false|', 1, true) then return 0 end\n"
    "if not (redis.acl_check_cmd('HSET', KEYS[1], 'p', '') and redis.acl_check_cmd('PEXPIRE', KEYS[1], '1') and\n"
    "        redis.acl_check_cmd('SADD', KEYS[2], '') and redis.acl_check_cmd('PEXPIRE', KEYS[2], '1') and\n"
    "        redis.acl_check_cmd('DEL', KEYS[4])) then\n"
    "  return redis.error_reply('ACL Redis не разрешает службе создать сеанс; ничего не изменено')\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'p', ARGV[1], 'u', ARGV[2], 'c', ARGV[3])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
    "redis.call('SADD', KEYS[2], ARGV[7])\n"
    "redis.call('PEXPIRE', KEYS[2], ARGV[6])\n"
    "redis.call('DEL', KEYS[4])\n"
    "return 1\n";

/* KEYS: session. ARGV: idle ms, now ms, absolute ms. → {principal, user id, created} or nil. */
static const char s_lua_session_touch[] =
    "local s = redis.call('HMGET', KEYS[1], 'p', 'u', 'c')\n"
    "if not s[1] or not s[3] then return false end\n"
    "local c = tonumber(s[3])\n"
    "if not c or tonumber(ARGV[2]) - c >= tonumber(ARGV[3]) then redis.call('DEL', KEYS[1]) return false end\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
    "return {s[1], s[2], s[3]}\n";

/* KEYS: session. ARGV: user-sessions key prefix, session hash. → {principal, user id} or nil. */
static const char s_lua_session_end[] = "local s = redis.call('HMGET', KEYS[1], 'p', 'u')\n"
                                        "if not s[1] then return false end\n"
                                        "redis.call('DEL', KEYS[1])\n"
                                        "redis.call('SREM', ARGV[1] .. s[2], ARGV[2])\n"
                                        "return {s[1], s[2]}\n";

/* KEYS: user-sessions set. ARGV: session key prefix. → number of sessions ended. */
static const char s_lua_user_sessions_end[] = "local hs = redis.call('SMEMBERS', KEYS[1])\n"
                                              "for _, h in ipairs(hs) do redis.call('DEL', ARGV[1] .. h) end\n"
                                              "redis.call('DEL', KEYS[1])\n"
                                              "return #hs\n";

/* KEYS: failure counters. → {failures, last ms, ...} per key ("0" when absent). */
static const char s_lua_rate_check[] = "local out = {}\n"
                                       "for i = 1, #KEYS do\n"
                                       "  local h = redis.call('HMGET', KEYS[i], 'n', 'l')\n"
                                       "  out[#out + 1] = h[1] or '0'\n"
                                       "  out[#out + 1] = h[2] or '0'\n"
                                       "end\n"
                                       "return out\n";

/* KEYS: failure counters. ARGV: now ms, window ms. The ACL is asked first: no counter without expiry. */
static const char s_lua_rate_fail[] =
    "for i = 1, #KEYS do\n"
    "  if not (redis.acl_check_cmd('HINCRBY', KEYS[i], 'n', '1') and\n"
    "          redis.acl_check_cmd('HSET', KEYS[i], 'l', '') and\n"
    "          redis.acl_check_cmd('PEXPIRE', KEYS[i], '1')) then\n"
    "    return redis.error_reply('ACL Redis не разрешает службе учёт попыток входа')\n"
    "  end\n"
    "end\n"
    "for i = 1, #KEYS do\n"
    "  redis.call('HINCRBY', KEYS[i], 'n', 1)\n"
    "  redis.call('HSET', KEYS[i], 'l', ARGV[1])\n"
    "  redis.call('PEXPIRE', KEYS[i], ARGV[2])\n"
    "end\n"
    "return 1\n";

/* KEYS: last-use key. ARGV: now ms, interval ms. */
static const char s_lua_key_used[] =
    "local old = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
    "if tonumber(ARGV[1]) - old >= tonumber(ARGV[2]) then redis.call('SET', KEYS[1], ARGV[1]) return 1 end\n"
    "return 0\n";

const char *const *auth_lua_scripts(size_t *n)
{
    static const char *const scripts[] = {s_lua_session_create,    s_lua_session_touch, s_lua_session_end,
                                          s_lua_user_sessions_end, s_lua_rate_check,    s_lua_rate_fail,
                                          s_lua_key_used};
    *n = sizeof scripts / sizeof scripts[0];
    return scripts;
}

/* ---------- wording ---------- */

static const char *const s_unavailable_ru = "Хранилище временно недоступно, повторите запрос позже";
const char *const auth_registry_unavailable_ru = "Реестр временно недоступен, повторите запрос позже";
const char *const auth_denied_ru = "Недостаточно прав для этого действия с этой записью";
const char *const auth_user_not_found_ru = "Пользователь не найден";
const char *const auth_key_not_found_ru = "Ключ API не найден";
const char *const auth_bad_credentials_ru = "Неверный логин или пароль";
const char *const auth_login_required_ru = "Требуется вход в систему";
const char *const auth_gateway_only_ru = "Этот метод вызывает только шлюз";
const char *const auth_conflict_ru = "Запись изменили одновременно с вами: перечитайте её и повторите";

void auth_options_default(auth_options *options)
{
    options->session_idle_ms = 30u * 60u * 1000u;
    options->session_absolute_ms = 8u * 60u * 60u * 1000u;
    options->authenticate_cache_ms = 5000;
    options->failure_window_ms = 15u * 60u * 1000u;
    options->free_failures = 5;
    options->max_delay_ms = 15u * 60u * 1000u;
    options->api_key_use_interval_ms = 60000;
    options->registry_timeout_ms = 3000;
}

/* ---------- op lifecycle ---------- */

op *auth_op_new(auth *a, service_call *call, const ProtobufCMessage *request)
{
    op *o = xcalloc(1, sizeof *o);
    o->a = a;
    o->call = call;
    o->request = request;
    validation_init(&o->v);
    return o;
}

void auth_op_free(op *o)
{
    if (o->stored)
        metodnet__stored_user__free_unpacked(o->stored, NULL);
    if (o->next)
        metodnet__user__free_unpacked(o->next, NULL);
    if (o->stored_key)
        metodnet__stored_api_key__free_unpacked(o->stored_key, NULL);
    if (o->next_key)
        metodnet__api_key__free_unpacked(o->next_key, NULL);
    validation_free(&o->v);
    sodium_memzero(o->token, sizeof o->token);
    sodium_memzero(o->password_hash, sizeof o->password_hash);
    free(o);
}

void auth_fail(op *o, Metodnet__StatusCode code, const char *message)
{
    service_call_fail(o->call, code, message);
    auth_op_free(o);
}

void auth_fail_validation(op *o)
{
    service_call_fail_validation(o->call, &o->v);
    auth_op_free(o);
}

void auth_reply(op *o, const ProtobufCMessage *response)
{
    service_call_reply(o->call, response);
    auth_op_free(o);
}

void auth_unavailable(op *o, const char *what, const char *error)
{
    log_error(service_call_request_id(o->call), "%s: %s", what, error ? error : "?");
    auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
}

const Metodnet__Principal *auth_caller(const op *o)
{
    return service_call_caller(o->call);
}

bool auth_is_system(const Metodnet__Principal *caller)
{
    return caller->role == METODNET__ROLE__ROLE_SYSTEM && scope_is_global(caller);
}

/* Deep copy of a message whose strings may be borrowed: the result is owned (free_unpacked). */
void *auth_own(const ProtobufCMessage *msg)
{
    ProtobufCMessage *copy = pbfield_clone(msg);
    return copy;
}

void auth_now(char *buf, size_t size)
{
    clock_rfc3339(clock_unix_ms(), buf, size);
}

/* ---------- audit and reply ---------- */

/* The change is stored: one audit entry as the caller, and the reply. The audit is not waited for
 * (docs/security.md, one audit policy): the change stands whatever happens to its entry, and a
 * failure to append it is logged. */
void auth_audit_reply(op *o, const char *action, const char *kind, const char *object_id, const char *region)
{
    audit_event e;
    audit_event_from_call(&e, o->call);
    e.action = action;
    e.object_kind = kind;
    e.object_id = object_id;
    if (region && *region)
        e.region_id = region;
    if (audit_record(o->a->audit, &e, NULL, NULL) != 0)
        log_error(service_call_request_id(o->call), "запись в журнал аудита не поставлена в очередь");
    auth_reply(o, o->response);
}

/* ---------- loading users and keys ---------- */

static void s_user_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                          void *ud)
{
    (void)version;
    op *o = ud;
    if (result == ENTITY_NOT_FOUND) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, auth_user_not_found_ru);
        return;
    }
    if (result != ENTITY_OK) {
        auth_unavailable(o, "чтение пользователя не удалось", error);
        return;
    }
    o->stored = metodnet__stored_user__unpack(NULL, len, data);
    if (o->stored == NULL || o->stored->user == NULL || o->stored->user->scope == NULL) {
        log_error(service_call_request_id(o->call), "запись пользователя повреждена");
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Запись повреждена; сообщите администратору");
        return;
    }
    o->after_load(o);
}

void auth_load_user(op *o, const char *id, op_step after)
{
    char key[AUTH_KEY_MAX];
    if (!auth_user_key(id, key, sizeof key)) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, auth_user_not_found_ru);
        return;
    }
    o->after_load = after;
    if (entity_store_get(o->a->store, key, s_user_loaded, o) != 0)
        auth_unavailable(o, "чтение пользователя не поставлено в очередь", NULL);
}

bool auth_user_allows(const op *o, const Metodnet__User *user, scope_access access)
{
    auth_territory territory;
    auth_user_territory(user, &territory);
    return scope_allows(auth_caller(o), &territory.object, access);
}

/* Users are seen only below in rank, or oneself (docs/security.md): a school administrator sees its
 * teachers, not the municipality's methodologists or the region's administrators, although their
 * records lie in territory enclosing the school (scope_allows lets a caller read the region and
 * municipality it lives in, which is right for those records and wrong for the people scoped to
 * them). School systems (API keys) see no user accounts, as ListUsers refuses them too. A user the
 * caller may not see answers exactly as one that does not exist. */
bool auth_user_visible(const op *o, const Metodnet__User *user)
{
    const Metodnet__Principal *caller = auth_caller(o);
    if (auth_is_system(caller))
        return true;
    if (caller->role == METODNET__ROLE__ROLE_SCHOOL_SYSTEM || auth_role_rank(caller->role) == 0)
        return false;
    if (caller->user_id && *caller->user_id && user->id && strcmp(caller->user_id, user->id) == 0)
        return true;
    return auth_role_rank(caller->role) > auth_role_rank(user->role) && auth_user_allows(o, user, SCOPE_READ);
}

/* The caller may see the user, and change it when its rank is higher (or it is the system). */
bool auth_check_manage(op *o)
{
    const Metodnet__User *user = o->stored->user;
    if (!auth_user_visible(o, user)) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, auth_user_not_found_ru);
        return false;
    }
    if (!auth_may_manage_role(auth_caller(o), user->role) || !auth_user_allows(o, user, SCOPE_WRITE)) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, auth_denied_ru);
        return false;
    }
    return true;
}

/* ---------- registry lookups ---------- */

/* Asks the registry for the entity with id (as the system: the caller's scope is checked here). */
void auth_registry_get(op *o, const char *method, const char *id, const ProtobufCMessageDescriptor *response,
                       service_client_cb cb)
{
    Metodnet__GetRequest get = METODNET__GET_REQUEST__INIT;
    get.id = (char *)id;
    service_client_request request = {
        .service = "registry",
        .method = method,
        .request = &get.base,
        .response = response,
        .caller = service_client_system_principal(),
        .request_id = service_call_request_id(o->call),
        .client_address = service_call_envelope(o->call)->client_address,
        .timeout_ms = o->a->options.registry_timeout_ms,
    };
    if (service_client_call(o->a->registry, &request, cb, o) != 0) {
        log_error(service_call_request_id(o->call), "запрос к реестру не отправлен");
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, auth_registry_unavailable_ru);
    }
}

/* True when the lookup answered OK; otherwise the op is answered (and freed). */
bool auth_registry_ok(op *o, const Metodnet__Status *status, const char *field, const char *not_found_ru)
{
    if (status->code == METODNET__STATUS_CODE__STATUS_CODE_OK)
        return true;
    if (status->code == METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND) {
        validation_add(&o->v, field, "%s", not_found_ru);
        auth_fail_validation(o);
        return false;
    }
    log_error(service_call_request_id(o->call), "реестр ответил кодом %d: %s", (int)status->code,
              status->message ? status->message : "");
    auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, auth_registry_unavailable_ru);
    return false;
}

/* Replaces a string field of an unpacked message (default allocator). An unset field points at
 * protobuf-c's shared empty string, which must not be freed. */
void auth_set_text(char **field, const char *value)
{
    if (*field != protobuf_c_empty_string)
        free(*field);
    *field = xstrdup(value ? value : "");
}

void auth_set_organizations(Metodnet__User *user, char *const *ids, size_t n)
{
    for (size_t i = 0; i < user->n_organization_ids; i++)
        free(user->organization_ids[i]);
    free(user->organization_ids);
    if (n > AUTH_MAX_ORGANIZATIONS)
        n = AUTH_MAX_ORGANIZATIONS;
    user->organization_ids = xcalloc(n ? n : 1, sizeof *user->organization_ids);
    for (size_t i = 0; i < n; i++) {
        user->organization_ids[i] = xstrdup(ids[i]);
    }
    user->n_organization_ids = n;
}

/* ---------- lists ---------- */

/* Validates limit and cursor of a list request; fills after (the decoded cursor) or "". */
bool auth_page(validation *v, int32_t limit_in, const char *cursor, size_t *limit, char *after, size_t size)
{
    int32_t limit_value = limit_in == 0 ? 50 : limit_in;
    if (limit_value < 1 || limit_value > 500)
        validation_add(v, "limit", "Размер страницы — от 1 до 500");
    *limit = limit_value < 1 ? 1 : (size_t)limit_value;
    after[0] = '\0';
    if (cursor && *cursor && !cursor_decode(cursor, after, size))
        validation_add(v, "cursor", "Неверный курсор: возьмите nextCursor из предыдущего ответа");
    return validation_ok(v);
}

void auth_add_list_token(const char **tokens, char (*text)[160], size_t *n, const char *name, const char *value)
{
    if (*n >= 6)
        return;
    snprintf(text[*n], sizeof text[0], "|%s:%s|", name, value ? value : "");
    tokens[*n] = text[*n];
    (*n)++;
}

/* ---------- ListAudit ---------- */

static void s_audit_listed(Metodnet__AuditEntry *const *entries, size_t n, const char *next_id, const char *error,
                           void *ud)
{
    op *o = ud;
    if (error) {
        auth_unavailable(o, "журнал аудита не прочитан", error);
        return;
    }
    Metodnet__ListAuditResponse response = METODNET__LIST_AUDIT_RESPONSE__INIT;
    response.items = (Metodnet__AuditEntry **)entries;
    response.n_items = n;
    char *cursor = next_id ? cursor_encode(next_id) : NULL;
    response.next_cursor = cursor ? cursor : (char *)"";
    auth_reply(o, &response.base);
    free(cursor);
}

static void s_list_audit(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = auth_op_new(ud, call, request);
    const Metodnet__ListAuditRequest *req = (const Metodnet__ListAuditRequest *)request;
    const Metodnet__Principal *caller = auth_caller(o);
    bool system = auth_is_system(caller);
    if (!system && !(caller->role == METODNET__ROLE__ROLE_REGION_ADMIN &&
                     caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_REGION)) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
                  "Журнал аудита доступен только администратору региона");
        return;
    }
    size_t limit;
    char after[CURSOR_MAX_MEMBER + 1];
    auth_page(&o->v, req->limit, req->cursor, &limit, after, sizeof after);
    if (after[0] && !audit_id_valid(after))
        validation_add(&o->v, "cursor", "Неверный курсор: возьмите nextCursor из предыдущего ответа");
    int from_days = 0, to_days = 0;
    bool has_from = req->from && *req->from, has_to = req->to && *req->to;
    if (has_from)
        validate_date(&o->v, "from", req->from, false, &from_days);
    if (has_to)
        validate_date(&o->v, "to", req->to, false, &to_days);
    if (has_from && has_to && validation_ok(&o->v) && to_days < from_days)
        validation_add(&o->v, "to", "Конец периода раньше его начала");
    if (!validation_ok(&o->v)) {
        auth_fail_validation(o);
        return;
    }
    const int64_t day_ms = 86400000;
    audit_query query = {
        .user_id = req->user_id,
        .object_id = req->object_id,
        .action = req->action,
        .region_id = system ? NULL : caller->scope_id,
        .from_unix_ms = has_from ? (int64_t)from_days * day_ms : 0,
        .to_unix_ms = has_to ? ((int64_t)to_days + 1) * day_ms - 1 : 0,
        .before_id = after[0] ? after : NULL,
        .limit = limit,
    };
    if (has_from && query.from_unix_ms == 0)
        query.from_unix_ms = 1; /* 1970-01-01 itself: "from the beginning" all the same */
    if (audit_list(o->a->audit, &query, s_audit_listed, o) != 0)
        auth_unavailable(o, "чтение журнала аудита не поставлено в очередь", NULL);
}

/* ---------- the method table ---------- */

static const service_handler_entry s_handlers[] = {
    {"CreateUser", auth_create_user},
    {"GetUser", auth_get_user},
    {"ListUsers", auth_list_users},
    {"SetUserDisabled", auth_set_user_disabled},
    {"ResetPassword", auth_reset_password},
    {"Me", auth_me},
    {"Login", auth_login},
    {"Logout", auth_logout},
    {"Authenticate", auth_authenticate},
    {"CreateApiKey", auth_create_api_key},
    {"ListApiKeys", auth_list_api_keys},
    {"RevokeApiKey", auth_revoke_api_key},
    {"ListAudit", s_list_audit},
};

static const service_methods s_service_methods = {&metodnet__auth__descriptor, s_handlers,
                                                  sizeof s_handlers / sizeof s_handlers[0]};

const service_methods *auth_methods(void)
{
    return &s_service_methods;
}

static void s_free(auth *a)
{
    service_client_destroy(&a->registry);
    audit_destroy(&a->audit);
    entity_store_destroy(&a->store);
    free(a);
}

auth *auth_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link, const auth_options *options)
{
    if (sodium_init() < 0)
        return NULL;
    auth *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->loop = loop;
    a->link = link;
    if (options)
        a->options = *options;
    else
        auth_options_default(&a->options);
    a->store = entity_store_new(link);
    a->audit = audit_new(link, "auth");
    a->registry = service_client_new(loop, zmq_context, cfg->broker_endpoint, cfg->broker_curve);
    a->session_create = redis_link_script(link, s_lua_session_create);
    a->session_touch = redis_link_script(link, s_lua_session_touch);
    a->session_end = redis_link_script(link, s_lua_session_end);
    a->user_sessions_end = redis_link_script(link, s_lua_user_sessions_end);
    a->rate_check = redis_link_script(link, s_lua_rate_check);
    a->rate_fail = redis_link_script(link, s_lua_rate_fail);
    a->key_used = redis_link_script(link, s_lua_key_used);
    if (a->store == NULL || a->audit == NULL || a->registry == NULL || !a->session_create || !a->session_touch ||
        !a->session_end || !a->user_sessions_end || !a->rate_check || !a->rate_fail || !a->key_used) {
        s_free(a);
        return NULL;
    }
    a->worker = service_worker_new(loop, zmq_context, cfg->broker_endpoint, cfg->broker_curve, "auth", cfg->concurrency,
                                   cfg->heartbeat, auth_methods(), a);
    if (a->worker == NULL) {
        s_free(a);
        return NULL;
    }
    return a;
}

static void s_release(void *service)
{
    s_free(service);
}

void auth_shutdown(auth *a, void (*done)(void *ud), void *ud)
{
    service_worker_stop_service(a->worker, 3000, s_release, a, done, ud);
}
