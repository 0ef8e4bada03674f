/* auth — the auth service's handlers (see auth.h; rules and keys in auth_model.h).
 *
 * Every operation is a small state machine on the loop, like the registry's: load → check scope and
 * rank → (look up the scope's target in the registry) → (hash on the threadpool) → one atomic
 * entity_store write → audit entry → reply. Scope rules: an object the caller may not read answers
 * NOT_FOUND (its existence is not revealed); one it may read but not change answers
 * PERMISSION_DENIED. Secrets (passwords, tokens, API-key secrets) are never logged, audited or put
 * into events; only their hashes are stored.
 */
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
static const char *const s_registry_unavailable_ru = "Реестр временно недоступен, повторите запрос позже";
static const char *const s_denied_ru = "Недостаточно прав для этого действия с этой записью";
static const char *const s_user_not_found_ru = "Пользователь не найден";
static const char *const s_key_not_found_ru = "Ключ API не найден";
static const char *const s_bad_credentials_ru = "Неверный логин или пароль";
static const char *const s_login_required_ru = "Требуется вход в систему";
static const char *const s_gateway_only_ru = "Этот метод вызывает только шлюз";
static const char *const s_conflict_ru = "Запись изменили одновременно с вами: перечитайте её и повторите";

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

static op *s_op_new(auth *a, service_call *call, const ProtobufCMessage *request)
{
    op *o = calloc(1, sizeof *o);
    if (o == NULL)
        abort();
    o->a = a;
    o->call = call;
    o->request = request;
    validation_init(&o->v);
    return o;
}

static void s_op_free(op *o)
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

static void s_fail(op *o, Metodnet__StatusCode code, const char *message)
{
    service_call_fail(o->call, code, message);
    s_op_free(o);
}

static void s_fail_validation(op *o)
{
    service_call_fail_validation(o->call, &o->v);
    s_op_free(o);
}

static void s_reply(op *o, const ProtobufCMessage *response)
{
    service_call_reply(o->call, response);
    s_op_free(o);
}

static void s_unavailable(op *o, const char *what, const char *error)
{
    log_error(service_call_request_id(o->call), "%s: %s", what, error ? error : "?");
    s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
}

static const Metodnet__Principal *s_caller(const op *o)
{
    return service_call_caller(o->call);
}

static bool s_is_system(const Metodnet__Principal *caller)
{
    return caller->role == METODNET__ROLE__ROLE_SYSTEM && scope_is_global(caller);
}

/* Deep copy of a message whose strings may be borrowed: the result is owned (free_unpacked). */
static void *s_own(const ProtobufCMessage *msg)
{
    ProtobufCMessage *copy = pbfield_clone(msg);
    if (copy == NULL)
        abort();
    return copy;
}

static void s_now(char *buf, size_t size)
{
    clock_rfc3339(clock_unix_ms(), buf, size);
}

/* ---------- audit and reply ---------- */

/* The change is stored: one audit entry as the caller, and the reply. The audit is not waited for
 * (docs/security.md, one audit policy): the change stands whatever happens to its entry, and a
 * failure to append it is logged. */
static void s_audit_reply(op *o, const char *action, const char *kind, const char *object_id, const char *region)
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
    s_reply(o, o->response);
}

/* ---------- loading users and keys ---------- */

static void s_user_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                          void *ud)
{
    (void)version;
    op *o = ud;
    if (result == ENTITY_NOT_FOUND) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, s_user_not_found_ru);
        return;
    }
    if (result != ENTITY_OK) {
        s_unavailable(o, "чтение пользователя не удалось", error);
        return;
    }
    o->stored = metodnet__stored_user__unpack(NULL, len, data);
    if (o->stored == NULL || o->stored->user == NULL || o->stored->user->scope == NULL) {
        log_error(service_call_request_id(o->call), "запись пользователя повреждена");
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Запись повреждена; сообщите администратору");
        return;
    }
    o->after_load(o);
}

static void s_load_user(op *o, const char *id, op_step after)
{
    char key[AUTH_KEY_MAX];
    if (!auth_user_key(id, key, sizeof key)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, s_user_not_found_ru);
        return;
    }
    o->after_load = after;
    if (entity_store_get(o->a->store, key, s_user_loaded, o) != 0)
        s_unavailable(o, "чтение пользователя не поставлено в очередь", NULL);
}

static bool s_user_allows(const op *o, const Metodnet__User *user, scope_access access)
{
    auth_territory territory;
    auth_user_territory(user, &territory);
    return scope_allows(s_caller(o), &territory.object, access);
}

/* Users are seen only below in rank, or oneself (docs/security.md): a school administrator sees its
 * teachers, not the municipality's methodologists or the region's administrators, although their
 * records lie in territory enclosing the school (scope_allows lets a caller read the region and
 * municipality it lives in, which is right for those records and wrong for the people scoped to
 * them). School systems (API keys) see no user accounts, as ListUsers refuses them too. A user the
 * caller may not see answers exactly as one that does not exist. */
static bool s_user_visible(const op *o, const Metodnet__User *user)
{
    const Metodnet__Principal *caller = s_caller(o);
    if (s_is_system(caller))
        return true;
    if (caller->role == METODNET__ROLE__ROLE_SCHOOL_SYSTEM || auth_role_rank(caller->role) == 0)
        return false;
    if (caller->user_id && *caller->user_id && user->id && strcmp(caller->user_id, user->id) == 0)
        return true;
    return auth_role_rank(caller->role) > auth_role_rank(user->role) && s_user_allows(o, user, SCOPE_READ);
}

/* The caller may see the user, and change it when its rank is higher (or it is the system). */
static bool s_check_manage(op *o)
{
    const Metodnet__User *user = o->stored->user;
    if (!s_user_visible(o, user)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, s_user_not_found_ru);
        return false;
    }
    if (!auth_may_manage_role(s_caller(o), user->role) || !s_user_allows(o, user, SCOPE_WRITE)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, s_denied_ru);
        return false;
    }
    return true;
}

/* ---------- registry lookups ---------- */

/* Asks the registry for the entity with id (as the system: the caller's scope is checked here). */
static void s_registry_get(op *o, const char *method, const char *id, const ProtobufCMessageDescriptor *response,
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
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_registry_unavailable_ru);
    }
}

/* True when the lookup answered OK; otherwise the op is answered (and freed). */
static bool s_registry_ok(op *o, const Metodnet__Status *status, const char *field, const char *not_found_ru)
{
    if (status->code == METODNET__STATUS_CODE__STATUS_CODE_OK)
        return true;
    if (status->code == METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND) {
        validation_add(&o->v, field, "%s", not_found_ru);
        s_fail_validation(o);
        return false;
    }
    log_error(service_call_request_id(o->call), "реестр ответил кодом %d: %s", (int)status->code,
              status->message ? status->message : "");
    s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_registry_unavailable_ru);
    return false;
}

/* Replaces a string field of an unpacked message (default allocator). An unset field points at
 * protobuf-c's shared empty string, which must not be freed. */
static void s_set_text(char **field, const char *value)
{
    if (*field != protobuf_c_empty_string)
        free(*field);
    *field = strdup(value ? value : "");
    if (*field == NULL)
        abort();
}

static void s_set_organizations(Metodnet__User *user, char *const *ids, size_t n)
{
    for (size_t i = 0; i < user->n_organization_ids; i++)
        free(user->organization_ids[i]);
    free(user->organization_ids);
    if (n > AUTH_MAX_ORGANIZATIONS)
        n = AUTH_MAX_ORGANIZATIONS;
    user->organization_ids = calloc(n ? n : 1, sizeof *user->organization_ids);
    if (user->organization_ids == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        user->organization_ids[i] = strdup(ids[i]);
        if (user->organization_ids[i] == NULL)
            abort();
    }
    user->n_organization_ids = n;
}

/* ---------- CreateUser ---------- */

static void s_create_user_hashed(const char *hash, void *ud);
static void s_create_user_staff_checked(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud);
static void s_create_user_scoped(op *o);

static const char *const s_scope_not_found_ru[] = {
    [METODNET__SCOPE_KIND__SCOPE_KIND_REGION] = "Регион не найден",
    [METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY] = "Муниципальное образование не найдено",
    [METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION] = "Организация не найдена",
    [METODNET__SCOPE_KIND__SCOPE_KIND_SELF] = "Сотрудник не найден",
};

static void s_create_user_target(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    Metodnet__User *user = o->next;
    if (!s_registry_ok(o, status, "scope.id", s_scope_not_found_ru[user->scope->kind]))
        return;
    switch (user->scope->kind) {
    case METODNET__SCOPE_KIND__SCOPE_KIND_REGION:
        s_set_text(&user->region_id, ((const Metodnet__Region *)response)->id);
        s_set_text(&user->municipality_id, "");
        s_set_organizations(user, NULL, 0);
        break;
    case METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY: {
        const Metodnet__Municipality *m = (const Metodnet__Municipality *)response;
        s_set_text(&user->region_id, m->region_id);
        s_set_text(&user->municipality_id, m->id);
        s_set_organizations(user, NULL, 0);
        break;
    }
    case METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION: {
        const Metodnet__Organization *org = (const Metodnet__Organization *)response;
        s_set_text(&user->region_id, org->region_id);
        s_set_text(&user->municipality_id, org->municipality_id);
        s_set_organizations(user, &org->id, 1);
        break;
    }
    default: {
        const Metodnet__StaffMember *staff = (const Metodnet__StaffMember *)response;
        s_set_text(&user->region_id, staff->region_id);
        s_set_text(&user->municipality_id, staff->n_municipality_ids ? staff->municipality_ids[0] : "");
        s_set_organizations(user, staff->organization_ids, staff->n_organization_ids);
        break;
    }
    }
    if (user->region_id == NULL || *user->region_id == '\0') {
        log_error(service_call_request_id(o->call), "реестр вернул запись без региона");
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_registry_unavailable_ru);
        return;
    }
    /* A staff member linked to a user of another role must exist and be in the same region. */
    if (user->staff_id && *user->staff_id && user->role != METODNET__ROLE__ROLE_TEACHER)
        s_registry_get(o, "GetStaff", user->staff_id, &metodnet__staff_member__descriptor, s_create_user_staff_checked);
    else
        s_create_user_scoped(o);
}

static void s_create_user_staff_checked(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    if (!s_registry_ok(o, status, "staffId", "Сотрудник не найден"))
        return;
    const Metodnet__StaffMember *staff = (const Metodnet__StaffMember *)response;
    /* The registry was asked as the system: a staff member the caller may not read is answered as
     * one that does not exist, so the existence of other municipalities' staff does not leak. */
    scope_object territory = {staff->region_id,          (const char *const *)staff->municipality_ids,
                              staff->n_municipality_ids, (const char *const *)staff->organization_ids,
                              staff->n_organization_ids, staff->id};
    if (!scope_allows(service_call_caller(o->call), &territory, SCOPE_READ)) {
        validation_add(&o->v, "staffId", "Сотрудник не найден");
        s_fail_validation(o);
        return;
    }
    if (strcmp(staff->region_id ? staff->region_id : "", o->next->region_id) != 0) {
        validation_add(&o->v, "staffId", "Сотрудник из другого региона");
        s_fail_validation(o);
        return;
    }
    s_create_user_scoped(o);
}

static void s_create_user_scoped(op *o)
{
    if (!s_user_allows(o, o->next, SCOPE_READ)) {
        /* a target outside what the caller may read gets the answer for one that does not exist */
        validation_add(&o->v, "scope.id", "%s", s_scope_not_found_ru[o->next->scope->kind]);
        s_fail_validation(o);
        return;
    }
    if (!s_user_allows(o, o->next, SCOPE_WRITE)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
               "Создавать пользователей можно только в пределах своей области");
        return;
    }
    const Metodnet__CreateUserRequest *req = (const Metodnet__CreateUserRequest *)o->request;
    if (auth_password_hash(o->a->loop, req->password, s_create_user_hashed, o) != 0)
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Не удалось обработать пароль");
}

static void s_create_user_written(entity_result result, int64_t detail, const char *error, void *ud)
{
    (void)detail;
    op *o = ud;
    switch (result) {
    case ENTITY_OK:
        o->response = &o->next->base;
        s_audit_reply(o, "create", "user", o->next->id, o->next->region_id);
        return;
    case ENTITY_NOT_EMPTY: {
        validation_add(&o->v, "login", "Логин «%s» уже занят", o->next->login);
        s_fail_validation(o);
        return;
    }
    case ENTITY_EXISTS:
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT, "Пользователь с таким идентификатором уже есть");
        return;
    default:
        s_unavailable(o, "запись пользователя не удалась", error);
        return;
    }
}

static void s_create_user_id(entity_result result, int64_t value, const char *error, void *ud)
{
    op *o = ud;
    if (result != ENTITY_OK) {
        s_unavailable(o, "не удалось выдать идентификатор", error);
        return;
    }
    char id[32], now[40];
    snprintf(id, sizeof id, "u%lld", (long long)value);
    s_now(now, sizeof now);
    s_set_text(&o->next->id, id);
    s_set_text(&o->next->created_at, now);
    s_set_text(&o->next->updated_at, now);
    o->next->version = 1;
    auth_store_meta meta = {s_caller(o), service_call_request_id(o->call), "user.created"};
    if (auth_store_user_create(o->a->store, o->next, o->password_hash, false, &meta, s_create_user_written, o) != 0)
        s_unavailable(o, "запись пользователя не поставлена в очередь", NULL);
}

static void s_create_user_hashed(const char *hash, void *ud)
{
    op *o = ud;
    if (hash == NULL) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Не удалось обработать пароль");
        return;
    }
    snprintf(o->password_hash, sizeof o->password_hash, "%s", hash);
    if (entity_store_next_id(o->a->store, AUTH_USER_SEQUENCE, s_create_user_id, o) != 0)
        s_unavailable(o, "не удалось запросить идентификатор", NULL);
}

static void s_create_user(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = s_op_new(ud, call, request);
    const Metodnet__CreateUserRequest *req = (const Metodnet__CreateUserRequest *)request;
    const Metodnet__Principal *caller = s_caller(o);

    auth_validate_login(&o->v, req->login);
    auth_validate_password(&o->v, "password", req->password);
    validate_text(&o->v, "fullName", req->full_name, 200, true);
    Metodnet__ScopeKind wanted = auth_role_scope_kind(req->role);
    if (wanted == METODNET__SCOPE_KIND__SCOPE_KIND_UNSPECIFIED)
        validation_add(&o->v, "role", "Роль — region_admin, municipal_methodologist, school_admin или teacher");
    const char *scope_id = req->scope && req->scope->id ? req->scope->id : "";
    char region[8] = "";
    if (req->scope == NULL || req->scope->kind == METODNET__SCOPE_KIND__SCOPE_KIND_UNSPECIFIED) {
        validation_add(&o->v, "scope.kind", "Укажите область действия пользователя");
    } else if (wanted != METODNET__SCOPE_KIND__SCOPE_KIND_UNSPECIFIED && req->scope->kind != wanted) {
        static const char *const words[] = {"", "", "region", "municipality", "organization", "self"};
        validation_add(&o->v, "scope.kind", "Для роли %s область — %s", auth_role_word(req->role), words[wanted]);
    }
    if (validate_id(&o->v, "scope.id", scope_id, true) && !auth_region_of(scope_id, region, sizeof region))
        validation_add(&o->v, "scope.id", "Неверный идентификатор области");
    const char *staff_id = req->staff_id ? req->staff_id : "";
    if (*staff_id && validate_id(&o->v, "staffId", staff_id, false) && req->role == METODNET__ROLE__ROLE_TEACHER &&
        strcmp(staff_id, scope_id) != 0)
        validation_add(&o->v, "staffId", "У педагога идентификатор сотрудника совпадает с областью (scope.id)");
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    if (!auth_may_manage_role(caller, req->role)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
               "Можно создавать только пользователей с ролью ниже своей");
        return;
    }
    if (!scope_is_global(caller) && strcmp(region, caller->region_id ? caller->region_id : "") != 0) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
               "Создавать пользователей можно только в пределах своей области");
        return;
    }

    Metodnet__User user = METODNET__USER__INIT;
    Metodnet__ScopeRef scope = METODNET__SCOPE_REF__INIT;
    char login[AUTH_LOGIN_MAX + 1];
    auth_login_normalize(req->login, login, sizeof login);
    scope.kind = req->scope->kind;
    scope.id = (char *)scope_id;
    user.login = login;
    user.full_name = req->full_name;
    user.role = req->role;
    user.scope = &scope;
    user.staff_id = (char *)(req->role == METODNET__ROLE__ROLE_TEACHER ? scope_id : staff_id);
    user.created_by = caller->user_id;
    o->next = s_own(&user.base);

    static const char *const methods[] = {"", "", "GetRegion", "GetMunicipality", "GetOrganization", "GetStaff"};
    static const ProtobufCMessageDescriptor *const types[] = {NULL,
                                                              NULL,
                                                              &metodnet__region__descriptor,
                                                              &metodnet__municipality__descriptor,
                                                              &metodnet__organization__descriptor,
                                                              &metodnet__staff_member__descriptor};
    s_registry_get(o, methods[scope.kind], scope_id, types[scope.kind], s_create_user_target);
}

/* ---------- GetUser, Me ---------- */

static void s_get_user_loaded(op *o)
{
    const Metodnet__User *user = o->stored->user;
    if (!s_user_visible(o, user)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, s_user_not_found_ru);
        return;
    }
    o->response = &o->stored->user->base;
    s_audit_reply(o, "read", "user", user->id, user->region_id);
}

static void s_get_user(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = s_op_new(ud, call, request);
    s_load_user(o, ((const Metodnet__GetRequest *)request)->id, s_get_user_loaded);
}

static void s_me_loaded(op *o)
{
    s_reply(o, &o->stored->user->base);
}

static void s_me(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = s_op_new(ud, call, request);
    const Metodnet__Principal *caller = s_caller(o);
    if (auth_role_rank(caller->role) == 0) { /* system callers and API keys are not users */
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, s_user_not_found_ru);
        return;
    }
    s_load_user(o, caller->user_id, s_me_loaded);
}

/* ---------- SetUserDisabled, ResetPassword ---------- */

static void s_sessions_ended(const redisReply *reply, const char *error, void *ud)
{
    op *o = ud;
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        /* The change is stored but old sessions may live: the client must retry (both are idempotent). */
        s_unavailable(o, "сеансы пользователя не завершены",
                      error ? error : (reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "неожиданный ответ"));
        return;
    }
    if (o->next == NULL) { /* already disabled: nothing changed, nothing to audit */
        s_reply(o, &o->stored->user->base);
        return;
    }
    bool reset = o->request->descriptor == &metodnet__reset_password_request__descriptor;
    const char *action = reset ? "reset_password" : "disable";
    const Metodnet__User *user = o->next;
    o->response = &o->next->base;
    s_audit_reply(o, action, "user", user->id, user->region_id);
}

static void s_end_sessions(op *o, const char *user_id)
{
    char key[AUTH_KEY_MAX];
    auth_user_sessions_key(user_id, key, sizeof key);
    const char *argv[] = {key, AUTH_SESSION_PREFIX};
    if (redis_link_evalsha(o->a->link, o->a->user_sessions_end, 1, 2, argv, NULL, s_sessions_ended, o) != 0)
        s_unavailable(o, "завершение сеансов не поставлено в очередь", NULL);
}

static void s_user_updated(entity_result result, int64_t detail, const char *error, void *ud)
{
    (void)detail;
    op *o = ud;
    if (result == ENTITY_VERSION_MISMATCH || result == ENTITY_NOT_FOUND) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT, s_conflict_ru);
        return;
    }
    if (result != ENTITY_OK) {
        s_unavailable(o, "запись пользователя не удалась", error);
        return;
    }
    bool reset = o->request->descriptor == &metodnet__reset_password_request__descriptor;
    if (reset || o->flag) {
        s_end_sessions(o, o->next->id);
        return;
    }
    o->response = &o->next->base;
    s_audit_reply(o, "enable", "user", o->next->id, o->next->region_id);
}

/* o->next := the loaded user with a new version; the caller changes what it changes, then writes. */
static void s_next_version(op *o)
{
    char now[40];
    o->next = s_own(&o->stored->user->base);
    o->next->version = o->stored->user->version + 1;
    s_now(now, sizeof now);
    s_set_text(&o->next->updated_at, now);
}

static void s_write_user_update(op *o, const char *event_type)
{
    auth_store_meta meta = {s_caller(o), service_call_request_id(o->call), event_type};
    const char *hash = o->password_hash[0] ? o->password_hash : o->stored->password_hash;
    if (auth_store_user_update(o->a->store, o->stored->user, o->next, hash, &meta, s_user_updated, o) != 0)
        s_unavailable(o, "запись пользователя не поставлена в очередь", NULL);
}

static void s_set_disabled_loaded(op *o)
{
    if (!s_check_manage(o))
        return;
    if (o->stored->user->disabled == o->flag) {
        if (o->flag)
            s_end_sessions(o, o->stored->user->id); /* a retry after a failed end of sessions */
        else
            s_reply(o, &o->stored->user->base);
        return;
    }
    s_next_version(o);
    o->next->disabled = o->flag;
    s_write_user_update(o, o->flag ? "user.disabled" : "user.enabled");
}

static void s_set_user_disabled(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = s_op_new(ud, call, request);
    const Metodnet__SetUserDisabledRequest *req = (const Metodnet__SetUserDisabledRequest *)request;
    o->flag = req->disabled;
    s_load_user(o, req->id, s_set_disabled_loaded);
}

static void s_reset_hashed(const char *hash, void *ud)
{
    op *o = ud;
    if (hash == NULL) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Не удалось обработать пароль");
        return;
    }
    snprintf(o->password_hash, sizeof o->password_hash, "%s", hash);
    s_next_version(o);
    s_write_user_update(o, "user.password_reset");
}

static void s_reset_loaded(op *o)
{
    if (!s_check_manage(o))
        return;
    const Metodnet__ResetPasswordRequest *req = (const Metodnet__ResetPasswordRequest *)o->request;
    if (auth_password_hash(o->a->loop, req->password, s_reset_hashed, o) != 0)
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Не удалось обработать пароль");
}

static void s_reset_password(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = s_op_new(ud, call, request);
    const Metodnet__ResetPasswordRequest *req = (const Metodnet__ResetPasswordRequest *)request;
    auth_validate_password(&o->v, "password", req->password);
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    s_load_user(o, req->id, s_reset_loaded);
}

/* ---------- lists ---------- */

/* Validates limit and cursor of a list request; fills after (the decoded cursor) or "". */
static bool s_page(validation *v, int32_t limit_in, const char *cursor, size_t *limit, char *after, size_t size)
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

static void s_add_list_token(const char **tokens, char (*text)[160], size_t *n, const char *name, const char *value)
{
    if (*n >= 6)
        return;
    snprintf(text[*n], sizeof text[0], "|%s:%s|", name, value ? value : "");
    tokens[*n] = text[*n];
    (*n)++;
}

static void s_users_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                           const char *error, void *ud)
{
    op *o = ud;
    if (result != ENTITY_OK) {
        s_unavailable(o, "список пользователей не получен", error);
        return;
    }
    Metodnet__ListUsersResponse response = METODNET__LIST_USERS_RESPONSE__INIT;
    Metodnet__StoredUser **stored = calloc(n ? n : 1, sizeof *stored);
    Metodnet__User **users = calloc(n ? n : 1, sizeof *users);
    if (stored == NULL || users == NULL)
        abort();
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        Metodnet__StoredUser *s = metodnet__stored_user__unpack(NULL, items[i].len, items[i].data);
        if (s == NULL || s->user == NULL || !s_user_visible(o, s->user)) {
            if (s == NULL)
                log_error(service_call_request_id(o->call), "пропущена повреждённая запись пользователя");
            if (s)
                metodnet__stored_user__free_unpacked(s, NULL);
            continue;
        }
        stored[kept] = s;
        users[kept] = s->user;
        kept++;
    }
    response.items = users;
    response.n_items = kept;
    char *cursor = next_member ? cursor_encode(next_member) : NULL;
    response.next_cursor = cursor ? cursor : (char *)"";
    if (kept > 0) { /* a list of people is a read of their records */
        audit_event e;
        audit_event_from_call(&e, o->call);
        e.action = "list";
        e.object_kind = "user";
        if (audit_record(o->a->audit, &e, NULL, NULL) != 0)
            log_error(service_call_request_id(o->call), "запись в журнал аудита не поставлена в очередь");
    }
    service_call_reply(o->call, &response.base);
    for (size_t i = 0; i < kept; i++)
        metodnet__stored_user__free_unpacked(stored[i], NULL);
    free(stored);
    free(users);
    free(cursor);
    s_op_free(o);
}

static void s_list_users(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = s_op_new(ud, call, request);
    const Metodnet__ListUsersRequest *req = (const Metodnet__ListUsersRequest *)request;
    const Metodnet__Principal *caller = s_caller(o);
    size_t limit;
    char after[CURSOR_MAX_MEMBER + 1];
    const char *tokens[6];
    char token_text[6][160];
    size_t n_tokens = 0;
    s_page(&o->v, req->limit, req->cursor, &limit, after, sizeof after);
    if (req->role && *req->role) {
        bool known = false;
        for (int r = METODNET__ROLE__ROLE_REGION_ADMIN; r <= METODNET__ROLE__ROLE_TEACHER; r++)
            known |= strcmp(req->role, auth_role_word((Metodnet__Role)r)) == 0;
        if (known)
            s_add_list_token(tokens, token_text, &n_tokens, "role", req->role);
        else
            validation_add(&o->v, "role", "Недопустимое значение «%.60s»", req->role);
    }
    if (req->disabled && *req->disabled) {
        if (strcmp(req->disabled, "true") == 0 || strcmp(req->disabled, "false") == 0)
            s_add_list_token(tokens, token_text, &n_tokens, "dis", req->disabled);
        else
            validation_add(&o->v, "disabled", "Допустимо true или false");
    }
    char prefix[AUTH_LOGIN_MAX + 1] = "";
    if (req->q && *req->q) {
        size_t n = strlen(req->q);
        for (size_t i = 0; i < n && i < AUTH_LOGIN_MAX; i++)
            prefix[i] = (req->q[i] >= 'A' && req->q[i] <= 'Z') ? (char)(req->q[i] - 'A' + 'a') : req->q[i];
        prefix[n < AUTH_LOGIN_MAX ? n : AUTH_LOGIN_MAX] = '\0';
        if (n > AUTH_LOGIN_MAX || strchr(prefix, '\x1f'))
            validation_add(&o->v, "q", "Поиск — по началу логина, не длиннее %d символов", AUTH_LOGIN_MAX);
    }
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    /* The index of the caller's scope: scoped callers never scan beyond it. */
    char index[AUTH_KEY_MAX];
    switch (s_is_system(caller) ? METODNET__SCOPE_KIND__SCOPE_KIND_ALL : caller->scope_kind) {
    case METODNET__SCOPE_KIND__SCOPE_KIND_ALL:
        snprintf(index, sizeof index, "auth:{g}:ix:users");
        break;
    case METODNET__SCOPE_KIND__SCOPE_KIND_REGION:
        snprintf(index, sizeof index, "auth:{g}:ix:users:r:%s", caller->scope_id);
        break;
    case METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY:
        snprintf(index, sizeof index, "auth:{g}:ix:users:m:%s", caller->scope_id);
        break;
    case METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION:
        snprintf(index, sizeof index, "auth:{g}:ix:users:o:%s", caller->scope_id);
        break;
    case METODNET__SCOPE_KIND__SCOPE_KIND_SELF:
        snprintf(index, sizeof index, "auth:{g}:ix:users:m:%s", caller->municipality_id);
        s_add_list_token(tokens, token_text, &n_tokens, "id", caller->user_id);
        break;
    default:
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, s_denied_ru);
        return;
    }
    if (caller->role == METODNET__ROLE__ROLE_SCHOOL_SYSTEM) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, s_denied_ru);
        return;
    }
    entity_list_query query = {
        .index_key = index,
        .after_member = after[0] ? after : NULL,
        .prefix = prefix[0] ? prefix : NULL,
        .entity_key_prefix = AUTH_USER_PREFIX,
        .required_tokens = tokens,
        .n_required_tokens = n_tokens,
        .limit = limit,
        .max_scan = 0,
    };
    if (entity_store_list(o->a->store, &query, s_users_listed, o) != 0)
        s_unavailable(o, "список пользователей не поставлен в очередь", NULL);
}

/* ---------- Login ---------- */

static void s_login_failed(op *o);

static void s_session_created(const redisReply *reply, const char *error, void *ud)
{
    op *o = ud;
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        s_unavailable(o, "сеанс не создан",
                      error ? error : (reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "неожиданный ответ"));
        return;
    }
    if (reply->integer != 1) { /* disabled or password reset while we were checking */
        s_login_failed(o);
        return;
    }
    const Metodnet__User *user = o->stored->user;
    int64_t now = clock_unix_ms();
    int64_t idle_end = now + o->a->options.session_idle_ms;
    int64_t absolute_end = now + o->a->options.session_absolute_ms;
    clock_rfc3339(idle_end < absolute_end ? idle_end : absolute_end, o->expires, sizeof o->expires);
    metodnet__login_response__init(&o->login_response);
    o->login_response.token = o->token;
    o->login_response.expires_at = o->expires;
    o->login_response.user = o->stored->user;
    o->response = &o->login_response.base;
    audit_event e;
    audit_event_from_call(&e, o->call);
    e.user_id = user->id;
    e.role = user->role;
    e.region_id = user->region_id;
    e.action = "login";
    e.object_kind = "user";
    e.object_id = user->id;
    if (audit_record(o->a->audit, &e, NULL, NULL) != 0)
        log_error(service_call_request_id(o->call), "запись в журнал аудита не поставлена в очередь");
    s_reply(o, o->response);
}

static void s_login_verified(bool ok, void *ud)
{
    op *o = ud;
    const Metodnet__User *user = o->stored ? o->stored->user : NULL;
    if (!ok || user == NULL || user->disabled) {
        s_login_failed(o);
        return;
    }
    /* 128 random bits; only the SHA-256 of the token is stored */
    auth_token_new(AUTH_SESSION_TOKEN_PREFIX, o->token, sizeof o->token);
    auth_token_hash(o->token, o->token_hash, sizeof o->token_hash);
    Metodnet__Principal principal;
    auth_user_principal(user, &principal);
    size_t principal_len = metodnet__principal__get_packed_size(&principal);
    uint8_t *packed = malloc(principal_len ? principal_len : 1);
    if (packed == NULL)
        abort();
    metodnet__principal__pack(&principal, packed);

    char session_key[AUTH_KEY_MAX], sessions_key[AUTH_KEY_MAX], user_key[AUTH_KEY_MAX], fail_key[AUTH_KEY_MAX];
    char created[24], idle[24], version[24], absolute[24];
    snprintf(session_key, sizeof session_key, AUTH_SESSION_PREFIX "%s", o->token_hash);
    auth_user_sessions_key(user->id, sessions_key, sizeof sessions_key);
    auth_user_key(user->id, user_key, sizeof user_key);
    snprintf(fail_key, sizeof fail_key, "%s", o->fail_keys[0]); /* the login's counter comes first */
    snprintf(created, sizeof created, "%" PRId64, clock_unix_ms());
    snprintf(idle, sizeof idle, "%" PRIu32, o->a->options.session_idle_ms);
    snprintf(version, sizeof version, "%lld", (long long)user->version);
    snprintf(absolute, sizeof absolute, "%" PRIu32, o->a->options.session_absolute_ms);
    const char *argv[] = {session_key, sessions_key, user_key, fail_key, (const char *)packed, user->id,
                          created,     idle,         version,  absolute, o->token_hash};
    size_t argvlen[11];
    for (int i = 0; i < 11; i++)
        argvlen[i] = i == 4 ? principal_len : strlen(argv[i]);
    int rc = redis_link_evalsha(o->a->link, o->a->session_create, 4, 11, argv, argvlen, s_session_created, o);
    free(packed);
    if (rc != 0)
        s_unavailable(o, "создание сеанса не поставлено в очередь", NULL);
}

static void s_login_fail_finish(op *o)
{
    const char *user_id = o->stored && o->stored->user ? o->stored->user->id : "";
    audit_event e;
    audit_event_from_call(&e, o->call);
    e.user_id = ""; /* nobody is logged in; the attempt names the user only when the login exists */
    e.role = METODNET__ROLE__ROLE_UNSPECIFIED;
    e.region_id = o->stored && o->stored->user ? o->stored->user->region_id : "";
    e.action = "login_failed";
    e.object_kind = "user";
    e.object_id = user_id;
    if (audit_record(o->a->audit, &e, NULL, NULL) != 0)
        log_error(service_call_request_id(o->call), "запись в журнал аудита не поставлена в очередь");
    s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED, s_bad_credentials_ru);
}

static void s_login_failure_recorded(const redisReply *reply, const char *error, void *ud)
{
    op *o = ud;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
        log_error(service_call_request_id(o->call), "счётчик неудачных входов не обновлён: %s",
                  error ? error : reply->str);
    s_login_fail_finish(o);
}

/* Unknown login, wrong password, disabled user: one answer, and the failure is counted. */
static void s_login_failed(op *o)
{
    if (o->n_fail_keys == 0) {
        s_login_fail_finish(o);
        return;
    }
    char now[24], window[24];
    snprintf(now, sizeof now, "%" PRId64, clock_unix_ms());
    snprintf(window, sizeof window, "%" PRIu32, o->a->options.failure_window_ms);
    const char *argv[] = {o->fail_keys[0], o->fail_keys[1], now, window};
    if (o->n_fail_keys == 1)
        argv[1] = now, argv[2] = window;
    if (redis_link_evalsha(o->a->link, o->a->rate_fail, o->n_fail_keys, o->n_fail_keys + 2, argv, NULL,
                           s_login_failure_recorded, o) != 0)
        s_login_failure_recorded(NULL, "запрос не поставлен в очередь", o);
}

static void s_login_user_found(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                               const char *error, void *ud)
{
    (void)next_member;
    op *o = ud;
    if (result != ENTITY_OK) {
        s_unavailable(o, "поиск пользователя по логину не удался", error);
        return;
    }
    if (n > 0) {
        o->stored = metodnet__stored_user__unpack(NULL, items[0].len, items[0].data);
        if (o->stored && (o->stored->user == NULL || o->stored->user->scope == NULL)) {
            metodnet__stored_user__free_unpacked(o->stored, NULL);
            o->stored = NULL;
        }
    }
    const Metodnet__LoginRequest *req = (const Metodnet__LoginRequest *)o->request;
    /* Unknown logins verify against a dummy hash: the answer takes as long as for a real user. */
    const char *hash = o->stored ? o->stored->password_hash : NULL;
    if (auth_password_verify(o->a->loop, hash, req->password ? req->password : "", s_login_verified, o) != 0)
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Не удалось обработать пароль");
}

static void s_login_find_user(op *o)
{
    if (!o->login_valid) {
        s_login_user_found(ENTITY_OK, NULL, 0, NULL, NULL, o);
        return;
    }
    char index[AUTH_KEY_MAX];
    auth_login_key(o->login, index, sizeof index);
    entity_list_query query = {
        .index_key = index,
        .entity_key_prefix = AUTH_USER_PREFIX,
        .limit = 1,
    };
    if (entity_store_list(o->a->store, &query, s_login_user_found, o) != 0)
        s_unavailable(o, "поиск пользователя не поставлен в очередь", NULL);
}

static void s_login_rate_checked(const redisReply *reply, const char *error, void *ud)
{
    op *o = ud;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != (size_t)o->n_fail_keys * 2) {
        s_unavailable(o, "проверка частоты входов не удалась",
                      error ? error : (reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "неожиданный ответ"));
        return;
    }
    int64_t now = clock_unix_ms(), wait = 0;
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        if (reply->element[i]->type != REDIS_REPLY_STRING || reply->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        int64_t failures = strtoll(reply->element[i]->str, NULL, 10);
        int64_t last = strtoll(reply->element[i + 1]->str, NULL, 10);
        int64_t w = auth_rate_wait_ms(failures, last, now, o->a->options.free_failures, o->a->options.max_delay_ms);
        if (w > wait)
            wait = w;
    }
    if (wait > 0) {
        char message[200];
        int32_t seconds = (int32_t)((wait + 999) / 1000);
        snprintf(message, sizeof message, "Слишком много неудачных попыток входа. Повторите через %d с", (int)seconds);
        service_call_fail_retry_after(o->call, message, seconds);
        s_op_free(o);
        return;
    }
    s_login_find_user(o);
}

static void s_login(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = s_op_new(ud, call, request);
    const Metodnet__LoginRequest *req = (const Metodnet__LoginRequest *)request;
    if (s_caller(o)->role != METODNET__ROLE__ROLE_SYSTEM) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, s_gateway_only_ru);
        return;
    }
    if (req->login == NULL || *req->login == '\0' || req->password == NULL || *req->password == '\0') {
        if (req->login == NULL || *req->login == '\0')
            validation_add(&o->v, "login", "Укажите логин");
        if (req->password == NULL || *req->password == '\0')
            validation_add(&o->v, "password", "Укажите пароль");
        s_fail_validation(o);
        return;
    }
    o->login_valid = auth_login_normalize(req->login, o->login, sizeof o->login);
    /* a password longer than any we accept cannot be right; do not feed megabytes to Argon2 */
    if (strlen(req->password) > 4 * AUTH_PASSWORD_MAX)
        o->login_valid = false;
    const char *address = service_call_envelope(call)->client_address;
    snprintf(o->address, sizeof o->address, "%.64s", address ? address : "");
    if (o->login_valid)
        auth_login_failure_key(o->login, o->fail_keys[o->n_fail_keys++], AUTH_KEY_MAX);
    if (o->address[0])
        snprintf(o->fail_keys[o->n_fail_keys++], AUTH_KEY_MAX, "auth:{g}:fail:addr:%s", o->address);
    if (o->n_fail_keys == 0) {
        s_login_find_user(o);
        return;
    }
    const char *argv[] = {o->fail_keys[0], o->fail_keys[1]};
    if (redis_link_evalsha(o->a->link, o->a->rate_check, o->n_fail_keys, o->n_fail_keys, argv, NULL,
                           s_login_rate_checked, o) != 0)
        s_unavailable(o, "проверка частоты входов не поставлена в очередь", NULL);
}

/* ---------- Authenticate ---------- */

static void s_authenticated(op *o, Metodnet__Principal *principal, int64_t valid_until)
{
    Metodnet__AuthenticateResponse response = METODNET__AUTHENTICATE_RESPONSE__INIT;
    response.principal = principal;
    response.valid_until_unix_ms = valid_until;
    s_reply(o, &response.base);
}

static void s_session_touched(const redisReply *reply, const char *error, void *ud)
{
    op *o = ud;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        s_unavailable(o, "проверка сеанса не удалась", error ? error : reply->str);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 || reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[2]->type != REDIS_REPLY_STRING) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED, s_login_required_ru);
        return;
    }
    Metodnet__Principal *principal =
        metodnet__principal__unpack(NULL, reply->element[0]->len, (const uint8_t *)reply->element[0]->str);
    if (principal == NULL) {
        log_error(service_call_request_id(o->call), "сеанс повреждён: принципал не разбирается");
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED, s_login_required_ru);
        return;
    }
    int64_t now = clock_unix_ms();
    int64_t created = strtoll(reply->element[2]->str, NULL, 10);
    int64_t valid_until = now + o->a->options.authenticate_cache_ms;
    int64_t idle_end = now + o->a->options.session_idle_ms;
    int64_t absolute_end = created + o->a->options.session_absolute_ms;
    if (idle_end < valid_until)
        valid_until = idle_end;
    if (absolute_end < valid_until)
        valid_until = absolute_end;
    s_authenticated(o, principal, valid_until);
    metodnet__principal__free_unpacked(principal, NULL);
}

static void s_key_use_recorded(const redisReply *reply, const char *error, void *ud)
{
    (void)ud;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
        log_warn(NULL, "время использования ключа API не записано: %s", error ? error : reply->str);
}

static void s_api_key_found(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                            const char *error, void *ud)
{
    (void)next_member;
    op *o = ud;
    if (result != ENTITY_OK) {
        s_unavailable(o, "поиск ключа API не удался", error);
        return;
    }
    Metodnet__StoredApiKey *stored = n > 0 ? metodnet__stored_api_key__unpack(NULL, items[0].len, items[0].data) : NULL;
    const Metodnet__ApiKey *key = stored ? stored->key : NULL;
    /* the stored secret hash must match too: the index alone is not trusted */
    if (key == NULL || key->revoked || key->scope == NULL || stored->secret_hash == NULL ||
        strcmp(stored->secret_hash, o->token_hash) != 0) {
        if (stored)
            metodnet__stored_api_key__free_unpacked(stored, NULL);
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED, s_login_required_ru);
        return;
    }
    char used_key[AUTH_KEY_MAX], now[24], interval[24];
    auth_api_key_used_key(key->id, used_key, sizeof used_key);
    snprintf(now, sizeof now, "%" PRId64, clock_unix_ms());
    snprintf(interval, sizeof interval, "%" PRIu32, o->a->options.api_key_use_interval_ms);
    const char *argv[] = {used_key, now, interval};
    if (redis_link_evalsha(o->a->link, o->a->key_used, 1, 3, argv, NULL, s_key_use_recorded, NULL) != 0)
        log_warn(service_call_request_id(o->call), "время использования ключа API не записано");

    Metodnet__Principal principal = METODNET__PRINCIPAL__INIT;
    principal.user_id = key->id;
    principal.role = METODNET__ROLE__ROLE_SCHOOL_SYSTEM;
    principal.scope_kind = key->scope->kind;
    principal.scope_id = key->scope->id;
    principal.region_id = key->region_id;
    principal.municipality_id = key->municipality_id;
    s_authenticated(o, &principal, clock_unix_ms() + o->a->options.authenticate_cache_ms);
    metodnet__stored_api_key__free_unpacked(stored, NULL);
}

static void s_authenticate(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = s_op_new(ud, call, request);
    const Metodnet__AuthenticateRequest *req = (const Metodnet__AuthenticateRequest *)request;
    if (s_caller(o)->role != METODNET__ROLE__ROLE_SYSTEM) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, s_gateway_only_ru);
        return;
    }
    if (auth_token_valid(req->token, AUTH_SESSION_TOKEN_PREFIX)) {
        char key[AUTH_KEY_MAX], idle[24], now[24], absolute[24];
        auth_token_hash(req->token, o->token_hash, sizeof o->token_hash);
        snprintf(key, sizeof key, AUTH_SESSION_PREFIX "%s", o->token_hash);
        snprintf(idle, sizeof idle, "%" PRIu32, o->a->options.session_idle_ms);
        snprintf(now, sizeof now, "%" PRId64, clock_unix_ms());
        snprintf(absolute, sizeof absolute, "%" PRIu32, o->a->options.session_absolute_ms);
        const char *argv[] = {key, idle, now, absolute};
        if (redis_link_evalsha(o->a->link, o->a->session_touch, 1, 4, argv, NULL, s_session_touched, o) != 0)
            s_unavailable(o, "проверка сеанса не поставлена в очередь", NULL);
        return;
    }
    if (auth_token_valid(req->token, AUTH_API_KEY_TOKEN_PREFIX)) {
        char index[AUTH_KEY_MAX];
        auth_token_hash(req->token, o->token_hash, sizeof o->token_hash);
        auth_api_key_secret_key(o->token_hash, index, sizeof index);
        entity_list_query query = {.index_key = index, .entity_key_prefix = AUTH_APIKEY_PREFIX, .limit = 1};
        if (entity_store_list(o->a->store, &query, s_api_key_found, o) != 0)
            s_unavailable(o, "поиск ключа API не поставлен в очередь", NULL);
        return;
    }
    s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED, s_login_required_ru);
}

/* ---------- Logout ---------- */

static void s_session_ended(const redisReply *reply, const char *error, void *ud)
{
    op *o = ud;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        s_unavailable(o, "завершение сеанса не удалось", error ? error : reply->str);
        return;
    }
    static Metodnet__LogoutResponse response = METODNET__LOGOUT_RESPONSE__INIT;
    o->response = &response.base;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || reply->element[0]->type != REDIS_REPLY_STRING) {
        s_reply(o, o->response); /* no such session: logging out twice is fine */
        return;
    }
    Metodnet__Principal *principal =
        metodnet__principal__unpack(NULL, reply->element[0]->len, (const uint8_t *)reply->element[0]->str);
    audit_event e;
    audit_event_from_call(&e, o->call);
    e.action = "logout";
    e.object_kind = "user";
    if (principal) {
        e.user_id = principal->user_id;
        e.role = principal->role;
        e.region_id = principal->region_id;
        e.object_id = principal->user_id;
    }
    if (audit_record(o->a->audit, &e, NULL, NULL) != 0)
        log_error(service_call_request_id(o->call), "запись в журнал аудита не поставлена в очередь");
    if (principal)
        metodnet__principal__free_unpacked(principal, NULL);
    s_reply(o, o->response);
}

static void s_logout(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = s_op_new(ud, call, request);
    const Metodnet__LogoutRequest *req = (const Metodnet__LogoutRequest *)request;
    if (!auth_token_valid(req->token, AUTH_SESSION_TOKEN_PREFIX)) {
        Metodnet__LogoutResponse response = METODNET__LOGOUT_RESPONSE__INIT;
        s_reply(o, &response.base);
        return;
    }
    char key[AUTH_KEY_MAX];
    auth_token_hash(req->token, o->token_hash, sizeof o->token_hash);
    snprintf(key, sizeof key, AUTH_SESSION_PREFIX "%s", o->token_hash);
    const char *argv[] = {key, "auth:{g}:user-sessions:", o->token_hash};
    if (redis_link_evalsha(o->a->link, o->a->session_end, 1, 3, argv, NULL, s_session_ended, o) != 0)
        s_unavailable(o, "завершение сеанса не поставлено в очередь", NULL);
}

/* ---------- API keys ---------- */

static bool s_may_hold_keys(const Metodnet__Principal *caller)
{
    return s_is_system(caller) || caller->role == METODNET__ROLE__ROLE_REGION_ADMIN ||
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
    return scope_allows(s_caller(o), &territory.object, access);
}

/* API keys are seen only by those who may issue and revoke them, and only where they may
 * (docs/security.md): a methodologist sees the keys of its municipality's schools, not a key scoped
 * to the municipality itself; a school administrator, a teacher or a key sees none. A key the caller
 * may not see answers exactly as one that does not exist. */
static bool s_key_visible(const op *o, const Metodnet__ApiKey *key)
{
    return s_may_hold_keys(s_caller(o)) && s_key_allows(o, key, SCOPE_WRITE);
}

static void s_api_key_created(entity_result result, int64_t detail, const char *error, void *ud)
{
    (void)detail;
    op *o = ud;
    if (result != ENTITY_OK) {
        s_unavailable(o, "запись ключа API не удалась", error);
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
    s_reply(o, &reply.base);
}

static void s_api_key_id(entity_result result, int64_t value, const char *error, void *ud)
{
    op *o = ud;
    if (result != ENTITY_OK) {
        s_unavailable(o, "не удалось выдать идентификатор", error);
        return;
    }
    char id[32], now[40], prefix[16];
    snprintf(id, sizeof id, "k%lld", (long long)value);
    s_now(now, sizeof now);
    auth_token_new(AUTH_API_KEY_TOKEN_PREFIX, o->token, sizeof o->token);
    auth_token_hash(o->token, o->token_hash, sizeof o->token_hash);
    snprintf(prefix, sizeof prefix, "%.10s", o->token);
    s_set_text(&o->next_key->id, id);
    s_set_text(&o->next_key->created_at, now);
    s_set_text(&o->next_key->prefix, prefix);
    o->next_key->version = 1;
    auth_store_meta meta = {s_caller(o), service_call_request_id(o->call), "api_key.created"};
    if (auth_store_api_key_write(o->a->store, NULL, o->next_key, o->token_hash, &meta, s_api_key_created, o) != 0)
        s_unavailable(o, "запись ключа API не поставлена в очередь", NULL);
}

static void s_api_key_target(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    Metodnet__ApiKey *key = o->next_key;
    bool organization = key->scope->kind == METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION;
    if (!s_registry_ok(o, status, "scope.id",
                       organization ? "Организация не найдена" : "Муниципальное образование не найдено"))
        return;
    if (organization) {
        const Metodnet__Organization *org = (const Metodnet__Organization *)response;
        s_set_text(&key->region_id, org->region_id);
        s_set_text(&key->municipality_id, org->municipality_id);
    } else {
        const Metodnet__Municipality *m = (const Metodnet__Municipality *)response;
        s_set_text(&key->region_id, m->region_id);
        s_set_text(&key->municipality_id, m->id);
    }
    if (!s_key_allows(o, key, SCOPE_READ)) {
        /* outside what the caller may read: the answer for a target that does not exist */
        validation_add(&o->v, "scope.id", "%s",
                       organization ? "Организация не найдена" : "Муниципальное образование не найдено");
        s_fail_validation(o);
        return;
    }
    if (!s_key_allows(o, key, SCOPE_WRITE)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
               "Ключ API можно выдать только в пределах своей области");
        return;
    }
    if (entity_store_next_id(o->a->store, AUTH_APIKEY_SEQUENCE, s_api_key_id, o) != 0)
        s_unavailable(o, "не удалось запросить идентификатор", NULL);
}

static void s_create_api_key(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = s_op_new(ud, call, request);
    const Metodnet__CreateApiKeyRequest *req = (const Metodnet__CreateApiKeyRequest *)request;
    const Metodnet__Principal *caller = s_caller(o);
    if (!s_may_hold_keys(caller)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
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
        s_fail_validation(o);
        return;
    }
    if (!scope_is_global(caller) && strcmp(region, caller->region_id ? caller->region_id : "") != 0) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
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
    o->next_key = s_own(&key.base);
    bool organization = scope.kind == METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION;
    s_registry_get(o, organization ? "GetOrganization" : "GetMunicipality", scope_id,
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
            s_set_text(&page->keys[i]->last_used_at, at);
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
    s_op_free(page->o);
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
        s_unavailable(o, "список ключей API не получен", error);
        return;
    }
    key_page *page = calloc(1, sizeof *page);
    if (page == NULL)
        abort();
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

static void s_list_api_keys(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = s_op_new(ud, call, request);
    const Metodnet__ListApiKeysRequest *req = (const Metodnet__ListApiKeysRequest *)request;
    const Metodnet__Principal *caller = s_caller(o);
    if (!s_may_hold_keys(caller)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, s_denied_ru);
        return;
    }
    size_t limit;
    char after[CURSOR_MAX_MEMBER + 1];
    if (!s_page(&o->v, req->limit, req->cursor, &limit, after, sizeof after)) {
        s_fail_validation(o);
        return;
    }
    char index[AUTH_KEY_MAX];
    if (s_is_system(caller))
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
        s_unavailable(o, "список ключей API не поставлен в очередь", NULL);
}

static void s_api_key_revoked(entity_result result, int64_t detail, const char *error, void *ud)
{
    (void)detail;
    op *o = ud;
    if (result == ENTITY_VERSION_MISMATCH || result == ENTITY_NOT_FOUND) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT, s_conflict_ru);
        return;
    }
    if (result != ENTITY_OK) {
        s_unavailable(o, "запись ключа API не удалась", error);
        return;
    }
    o->response = &o->next_key->base;
    s_audit_reply(o, "revoke", "api_key", o->next_key->id, o->next_key->region_id);
}

static void s_api_key_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                             void *ud)
{
    (void)version;
    op *o = ud;
    if (result == ENTITY_NOT_FOUND) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, s_key_not_found_ru);
        return;
    }
    if (result != ENTITY_OK) {
        s_unavailable(o, "чтение ключа API не удалось", error);
        return;
    }
    o->stored_key = metodnet__stored_api_key__unpack(NULL, len, data);
    if (o->stored_key == NULL || o->stored_key->key == NULL || o->stored_key->key->scope == NULL) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Запись повреждена; сообщите администратору");
        return;
    }
    const Metodnet__ApiKey *key = o->stored_key->key;
    if (!s_key_visible(o, key)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, s_key_not_found_ru);
        return;
    }
    if (key->revoked) {
        s_reply(o, &o->stored_key->key->base);
        return;
    }
    o->next_key = s_own(&key->base);
    o->next_key->revoked = true;
    o->next_key->version = key->version + 1;
    auth_store_meta meta = {s_caller(o), service_call_request_id(o->call), "api_key.revoked"};
    if (auth_store_api_key_write(o->a->store, key, o->next_key, o->stored_key->secret_hash, &meta, s_api_key_revoked,
                                 o) != 0)
        s_unavailable(o, "запись ключа API не поставлена в очередь", NULL);
}

static void s_revoke_api_key(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = s_op_new(ud, call, request);
    const Metodnet__RevokeApiKeyRequest *req = (const Metodnet__RevokeApiKeyRequest *)request;
    char key[AUTH_KEY_MAX];
    if (!auth_api_key_key(req->id, key, sizeof key)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, s_key_not_found_ru);
        return;
    }
    if (entity_store_get(o->a->store, key, s_api_key_loaded, o) != 0)
        s_unavailable(o, "чтение ключа API не поставлено в очередь", NULL);
}

/* ---------- ListAudit ---------- */

static void s_audit_listed(Metodnet__AuditEntry *const *entries, size_t n, const char *next_id, const char *error,
                           void *ud)
{
    op *o = ud;
    if (error) {
        s_unavailable(o, "журнал аудита не прочитан", error);
        return;
    }
    Metodnet__ListAuditResponse response = METODNET__LIST_AUDIT_RESPONSE__INIT;
    response.items = (Metodnet__AuditEntry **)entries;
    response.n_items = n;
    char *cursor = next_id ? cursor_encode(next_id) : NULL;
    response.next_cursor = cursor ? cursor : (char *)"";
    s_reply(o, &response.base);
    free(cursor);
}

static void s_list_audit(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = s_op_new(ud, call, request);
    const Metodnet__ListAuditRequest *req = (const Metodnet__ListAuditRequest *)request;
    const Metodnet__Principal *caller = s_caller(o);
    bool system = s_is_system(caller);
    if (!system && !(caller->role == METODNET__ROLE__ROLE_REGION_ADMIN &&
                     caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_REGION)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
               "Журнал аудита доступен только администратору региона");
        return;
    }
    size_t limit;
    char after[CURSOR_MAX_MEMBER + 1];
    s_page(&o->v, req->limit, req->cursor, &limit, after, sizeof after);
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
        s_fail_validation(o);
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
        s_unavailable(o, "чтение журнала аудита не поставлено в очередь", NULL);
}

/* ---------- the method table ---------- */

static const service_handler_entry s_handlers[] = {
    {"CreateUser", s_create_user},
    {"GetUser", s_get_user},
    {"ListUsers", s_list_users},
    {"SetUserDisabled", s_set_user_disabled},
    {"ResetPassword", s_reset_password},
    {"Me", s_me},
    {"Login", s_login},
    {"Logout", s_logout},
    {"Authenticate", s_authenticate},
    {"CreateApiKey", s_create_api_key},
    {"ListApiKeys", s_list_api_keys},
    {"RevokeApiKey", s_revoke_api_key},
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
    a->registry = service_client_new(loop, zmq_context, cfg->broker_endpoint);
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
    a->worker = service_worker_new(loop, zmq_context, cfg->broker_endpoint, "auth", cfg->concurrency, cfg->heartbeat,
                                   auth_methods(), a);
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

/* ---------- bootstrap ---------- */

typedef struct {
    redis_link *link;
    entity_store *store;
    audit *audit;
    Metodnet__User *user;
    char password_hash[AUTH_PASSWORD_HASH_MAX];
    auth_bootstrap_cb cb;
    void *ud;
} bootstrap;

static const Metodnet__Principal s_bootstrap_actor = {
    PROTOBUF_C_MESSAGE_INIT(&metodnet__principal__descriptor),
    (char *)"bootstrap",
    METODNET__ROLE__ROLE_SYSTEM,
    METODNET__SCOPE_KIND__SCOPE_KIND_ALL,
    (char *)"",
    (char *)"",
    (char *)"",
};

static void s_bootstrap_finish(bootstrap *b, auth_bootstrap_result result, const char *message)
{
    b->cb(result, result == AUTH_BOOTSTRAP_CREATED ? b->user->id : NULL, message, b->ud);
    metodnet__user__free_unpacked(b->user, NULL);
    entity_store_destroy(&b->store);
    audit_destroy(&b->audit);
    sodium_memzero(b->password_hash, sizeof b->password_hash);
    free(b);
}

static void s_bootstrap_audited(int status, void *ud)
{
    (void)status;
    s_bootstrap_finish(ud, AUTH_BOOTSTRAP_CREATED, "Администратор региона создан");
}

static void s_bootstrap_written(entity_result result, int64_t detail, const char *error, void *ud)
{
    bootstrap *b = ud;
    if (result == ENTITY_OK) {
        audit_event e = {0};
        e.user_id = s_bootstrap_actor.user_id;
        e.role = METODNET__ROLE__ROLE_SYSTEM;
        e.action = "create";
        e.object_kind = "user";
        e.object_id = b->user->id;
        e.region_id = b->user->region_id;
        if (audit_record(b->audit, &e, s_bootstrap_audited, b) != 0)
            s_bootstrap_audited(-1, b);
    } else if (result == ENTITY_NOT_EMPTY) {
        if (detail == 0)
            s_bootstrap_finish(b, AUTH_BOOTSTRAP_EXISTS, "Администратор уже создан");
        else
            s_bootstrap_finish(b, AUTH_BOOTSTRAP_LOGIN_TAKEN, "Этот логин уже занят другим пользователем");
    } else {
        log_error(NULL, "запись администратора не удалась: %s", error ? error : "?");
        s_bootstrap_finish(b, AUTH_BOOTSTRAP_FAILED, "Хранилище недоступно: администратор не создан");
    }
}

static void s_bootstrap_id(entity_result result, int64_t value, const char *error, void *ud)
{
    bootstrap *b = ud;
    if (result != ENTITY_OK) {
        log_error(NULL, "не удалось выдать идентификатор: %s", error ? error : "?");
        s_bootstrap_finish(b, AUTH_BOOTSTRAP_FAILED, "Хранилище недоступно: администратор не создан");
        return;
    }
    char id[32], now[40];
    snprintf(id, sizeof id, "u%lld", (long long)value);
    s_now(now, sizeof now);
    s_set_text(&b->user->id, id);
    s_set_text(&b->user->created_at, now);
    s_set_text(&b->user->updated_at, now);
    b->user->version = 1;
    auth_store_meta meta = {&s_bootstrap_actor, "", "user.created"};
    if (auth_store_user_create(b->store, b->user, b->password_hash, true, &meta, s_bootstrap_written, b) != 0)
        s_bootstrap_finish(b, AUTH_BOOTSTRAP_FAILED, "Хранилище недоступно: администратор не создан");
}

static void s_bootstrap_hashed(const char *hash, void *ud)
{
    bootstrap *b = ud;
    if (hash == NULL) {
        s_bootstrap_finish(b, AUTH_BOOTSTRAP_FAILED, "Не удалось вычислить хеш пароля");
        return;
    }
    snprintf(b->password_hash, sizeof b->password_hash, "%s", hash);
    if (entity_store_next_id(b->store, AUTH_USER_SEQUENCE, s_bootstrap_id, b) != 0)
        s_bootstrap_finish(b, AUTH_BOOTSTRAP_FAILED, "Хранилище недоступно: администратор не создан");
}

const char *auth_bootstrap_check(const char *region, const char *login, const char *full_name, const char *password)
{
    char normalized[AUTH_LOGIN_MAX + 1];
    if (region == NULL || strlen(region) != 2 || region[0] < '0' || region[0] > '9' || region[1] < '0' ||
        region[1] > '9' || strcmp(region, "00") == 0)
        return "Код региона — две цифры от 01 до 99";
    if (!auth_login_normalize(login, normalized, sizeof normalized))
        return "Логин — от 3 до 64 символов: латинские буквы, цифры, точка, дефис, подчёркивание";
    validation v;
    validation_init(&v);
    validate_text(&v, "fullName", full_name, 200, true);
    bool name_ok = validation_ok(&v);
    auth_validate_password(&v, "password", password);
    bool password_ok = validation_ok(&v) || !name_ok;
    validation_free(&v);
    if (!name_ok)
        return "Укажите имя администратора (до 200 символов)";
    if (!password_ok)
        return "Пароль — от 10 до 128 символов";
    return NULL;
}

int auth_bootstrap_admin(uv_loop_t *loop, redis_link *link, const char *region, const char *login,
                         const char *full_name, const char *password, auth_bootstrap_cb cb, void *ud)
{
    if (cb == NULL || link == NULL || auth_bootstrap_check(region, login, full_name, password) != NULL ||
        sodium_init() < 0)
        return -1;
    bootstrap *b = calloc(1, sizeof *b);
    if (b == NULL)
        return -1;
    b->link = link;
    b->cb = cb;
    b->ud = ud;
    b->store = entity_store_new(link);
    b->audit = audit_new(link, "auth");
    char normalized[AUTH_LOGIN_MAX + 1];
    auth_login_normalize(login, normalized, sizeof normalized);
    Metodnet__User user = METODNET__USER__INIT;
    Metodnet__ScopeRef scope = METODNET__SCOPE_REF__INIT;
    scope.kind = METODNET__SCOPE_KIND__SCOPE_KIND_REGION;
    scope.id = (char *)region;
    user.login = normalized;
    user.full_name = (char *)full_name;
    user.role = METODNET__ROLE__ROLE_REGION_ADMIN;
    user.scope = &scope;
    user.region_id = (char *)region;
    user.created_by = s_bootstrap_actor.user_id;
    b->user = s_own(&user.base);
    if (b->store == NULL || b->audit == NULL || auth_password_hash(loop, password, s_bootstrap_hashed, b) != 0) {
        metodnet__user__free_unpacked(b->user, NULL);
        entity_store_destroy(&b->store);
        audit_destroy(&b->audit);
        free(b);
        return -1;
    }
    return 0;
}
