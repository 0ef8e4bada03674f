/* auth_sessions — sessions: Me, Login (with its failure rate limit), Authenticate (a session
 * token or an API key, as the gateway asks), Logout. */
#include "auth_internal.h"
#include "xalloc.h"

static void s_me_loaded(op *o)
{
    auth_reply(o, &o->stored->user->base);
}

void auth_me(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = auth_op_new(ud, call, request);
    const Metodnet__Principal *caller = auth_caller(o);
    if (auth_role_rank(caller->role) == 0) { /* system callers and API keys are not users */
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, auth_user_not_found_ru);
        return;
    }
    auth_load_user(o, caller->user_id, s_me_loaded);
}

/* ---------- Login ---------- */

static void s_login_failed(op *o);

static void s_session_created(const redisReply *reply, const char *error, void *ud)
{
    op *o = ud;
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        auth_unavailable(o, "сеанс не создан",
                         error ? error
                               : (reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "неожиданный ответ"));
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
    auth_reply(o, o->response);
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
    uint8_t *packed = xmalloc(principal_len ? principal_len : 1);
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
        auth_unavailable(o, "создание сеанса не поставлено в очередь", NULL);
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
    auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED, auth_bad_credentials_ru);
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

static void s_login_user_found(entity_result result, const uint8_t *data, size_t len, int64_t version,
                               const char *error, void *ud)
{
    (void)version;
    op *o = ud;
    if (result != ENTITY_OK && result != ENTITY_NOT_FOUND) {
        auth_unavailable(o, "поиск пользователя по логину не удался", error);
        return;
    }
    if (result == ENTITY_OK) {
        o->stored = metodnet__stored_user__unpack(NULL, len, data);
        if (o->stored && (o->stored->user == NULL || o->stored->user->scope == NULL)) {
            metodnet__stored_user__free_unpacked(o->stored, NULL);
            o->stored = NULL;
        }
    }
    const Metodnet__LoginRequest *req = (const Metodnet__LoginRequest *)o->request;
    /* Unknown logins verify against a dummy hash: the answer takes as long as for a real user. */
    const char *hash = o->stored ? o->stored->password_hash : NULL;
    if (auth_password_verify(o->a->loop, hash, req->password ? req->password : "", s_login_verified, o) != 0)
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Не удалось обработать пароль");
}

/* The user who claims the login (one round trip; auth_model.h: logins are claims). */
static void s_login_find_user(op *o)
{
    if (!o->login_valid) {
        s_login_user_found(ENTITY_NOT_FOUND, NULL, 0, 0, NULL, o);
        return;
    }
    if (entity_store_get_by_claim(o->a->store, AUTH_LOGIN_CLAIMS, o->login, AUTH_USER_PREFIX, s_login_user_found, o) !=
        0)
        auth_unavailable(o, "поиск пользователя не поставлен в очередь", NULL);
}

static void s_login_rate_checked(const redisReply *reply, const char *error, void *ud)
{
    op *o = ud;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != (size_t)o->n_fail_keys * 2) {
        auth_unavailable(o, "проверка частоты входов не удалась",
                         error ? error
                               : (reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "неожиданный ответ"));
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
        auth_op_free(o);
        return;
    }
    s_login_find_user(o);
}

void auth_login(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = auth_op_new(ud, call, request);
    const Metodnet__LoginRequest *req = (const Metodnet__LoginRequest *)request;
    if (auth_caller(o)->role != METODNET__ROLE__ROLE_SYSTEM) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, auth_gateway_only_ru);
        return;
    }
    if (req->login == NULL || *req->login == '\0' || req->password == NULL || *req->password == '\0') {
        if (req->login == NULL || *req->login == '\0')
            validation_add(&o->v, "login", "Укажите логин");
        if (req->password == NULL || *req->password == '\0')
            validation_add(&o->v, "password", "Укажите пароль");
        auth_fail_validation(o);
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
        auth_unavailable(o, "проверка частоты входов не поставлена в очередь", NULL);
}

/* ---------- Authenticate ---------- */

static void s_authenticated(op *o, Metodnet__Principal *principal, int64_t valid_until)
{
    Metodnet__AuthenticateResponse response = METODNET__AUTHENTICATE_RESPONSE__INIT;
    response.principal = principal;
    response.valid_until_unix_ms = valid_until;
    auth_reply(o, &response.base);
}

static void s_session_touched(const redisReply *reply, const char *error, void *ud)
{
    op *o = ud;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        auth_unavailable(o, "проверка сеанса не удалась", error ? error : reply->str);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 || reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[2]->type != REDIS_REPLY_STRING) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED, auth_login_required_ru);
        return;
    }
    Metodnet__Principal *principal =
        metodnet__principal__unpack(NULL, reply->element[0]->len, (const uint8_t *)reply->element[0]->str);
    if (principal == NULL) {
        log_error(service_call_request_id(o->call), "сеанс повреждён: принципал не разбирается");
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED, auth_login_required_ru);
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
        auth_unavailable(o, "поиск ключа API не удался", error);
        return;
    }
    Metodnet__StoredApiKey *stored = n > 0 ? metodnet__stored_api_key__unpack(NULL, items[0].len, items[0].data) : NULL;
    const Metodnet__ApiKey *key = stored ? stored->key : NULL;
    /* the stored secret hash must match too: the index alone is not trusted */
    if (key == NULL || key->revoked || key->scope == NULL || stored->secret_hash == NULL ||
        strcmp(stored->secret_hash, o->token_hash) != 0) {
        if (stored)
            metodnet__stored_api_key__free_unpacked(stored, NULL);
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED, auth_login_required_ru);
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

void auth_authenticate(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = auth_op_new(ud, call, request);
    const Metodnet__AuthenticateRequest *req = (const Metodnet__AuthenticateRequest *)request;
    if (auth_caller(o)->role != METODNET__ROLE__ROLE_SYSTEM) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, auth_gateway_only_ru);
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
            auth_unavailable(o, "проверка сеанса не поставлена в очередь", NULL);
        return;
    }
    if (auth_token_valid(req->token, AUTH_API_KEY_TOKEN_PREFIX)) {
        char index[AUTH_KEY_MAX];
        auth_token_hash(req->token, o->token_hash, sizeof o->token_hash);
        auth_api_key_secret_key(o->token_hash, index, sizeof index);
        entity_list_query query = {.index_key = index, .entity_key_prefix = AUTH_APIKEY_PREFIX, .limit = 1};
        if (entity_store_list(o->a->store, &query, s_api_key_found, o) != 0)
            auth_unavailable(o, "поиск ключа API не поставлен в очередь", NULL);
        return;
    }
    auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED, auth_login_required_ru);
}

/* ---------- Logout ---------- */

static void s_session_ended(const redisReply *reply, const char *error, void *ud)
{
    op *o = ud;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        auth_unavailable(o, "завершение сеанса не удалось", error ? error : reply->str);
        return;
    }
    static Metodnet__LogoutResponse response = METODNET__LOGOUT_RESPONSE__INIT;
    o->response = &response.base;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || reply->element[0]->type != REDIS_REPLY_STRING) {
        auth_reply(o, o->response); /* no such session: logging out twice is fine */
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
    auth_reply(o, o->response);
}

void auth_logout(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = auth_op_new(ud, call, request);
    const Metodnet__LogoutRequest *req = (const Metodnet__LogoutRequest *)request;
    if (!auth_token_valid(req->token, AUTH_SESSION_TOKEN_PREFIX)) {
        Metodnet__LogoutResponse response = METODNET__LOGOUT_RESPONSE__INIT;
        auth_reply(o, &response.base);
        return;
    }
    char key[AUTH_KEY_MAX];
    auth_token_hash(req->token, o->token_hash, sizeof o->token_hash);
    snprintf(key, sizeof key, AUTH_SESSION_PREFIX "%s", o->token_hash);
    const char *argv[] = {key, "auth:{g}:user-sessions:", o->token_hash};
    if (redis_link_evalsha(o->a->link, o->a->session_end, 1, 3, argv, NULL, s_session_ended, o) != 0)
        auth_unavailable(o, "завершение сеанса не поставлено в очередь", NULL);
}
