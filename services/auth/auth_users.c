/* auth_users — user accounts: CreateUser (scope target checked in the registry, password hashed on
 * the threadpool), GetUser, SetUserDisabled and ResetPassword (which end the user's sessions),
 * ListUsers. */
#include "auth_internal.h"

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
    if (!auth_registry_ok(o, status, "scope.id", s_scope_not_found_ru[user->scope->kind]))
        return;
    switch (user->scope->kind) {
    case METODNET__SCOPE_KIND__SCOPE_KIND_REGION:
        auth_set_text(&user->region_id, ((const Metodnet__Region *)response)->id);
        auth_set_text(&user->municipality_id, "");
        auth_set_organizations(user, NULL, 0);
        break;
    case METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY: {
        const Metodnet__Municipality *m = (const Metodnet__Municipality *)response;
        auth_set_text(&user->region_id, m->region_id);
        auth_set_text(&user->municipality_id, m->id);
        auth_set_organizations(user, NULL, 0);
        break;
    }
    case METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION: {
        const Metodnet__Organization *org = (const Metodnet__Organization *)response;
        auth_set_text(&user->region_id, org->region_id);
        auth_set_text(&user->municipality_id, org->municipality_id);
        auth_set_organizations(user, &org->id, 1);
        break;
    }
    default: {
        const Metodnet__StaffMember *staff = (const Metodnet__StaffMember *)response;
        auth_set_text(&user->region_id, staff->region_id);
        auth_set_text(&user->municipality_id, staff->n_municipality_ids ? staff->municipality_ids[0] : "");
        auth_set_organizations(user, staff->organization_ids, staff->n_organization_ids);
        break;
    }
    }
    if (user->region_id == NULL || *user->region_id == '\0') {
        log_error(service_call_request_id(o->call), "реестр вернул запись без региона");
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, auth_registry_unavailable_ru);
        return;
    }
    /* A staff member linked to a user of another role must exist and be in the same region. */
    if (user->staff_id && *user->staff_id && user->role != METODNET__ROLE__ROLE_TEACHER)
        auth_registry_get(o, "GetStaff", user->staff_id, &metodnet__staff_member__descriptor,
                          s_create_user_staff_checked);
    else
        s_create_user_scoped(o);
}

static void s_create_user_staff_checked(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    if (!auth_registry_ok(o, status, "staffId", "Сотрудник не найден"))
        return;
    const Metodnet__StaffMember *staff = (const Metodnet__StaffMember *)response;
    /* The registry was asked as the system: a staff member the caller may not read is answered as
     * one that does not exist, so the existence of other municipalities' staff does not leak. */
    scope_object territory = {staff->region_id,          (const char *const *)staff->municipality_ids,
                              staff->n_municipality_ids, (const char *const *)staff->organization_ids,
                              staff->n_organization_ids, staff->id};
    if (!scope_allows(service_call_caller(o->call), &territory, SCOPE_READ)) {
        validation_add(&o->v, "staffId", "Сотрудник не найден");
        auth_fail_validation(o);
        return;
    }
    if (strcmp(staff->region_id ? staff->region_id : "", o->next->region_id) != 0) {
        validation_add(&o->v, "staffId", "Сотрудник из другого региона");
        auth_fail_validation(o);
        return;
    }
    s_create_user_scoped(o);
}

static void s_create_user_scoped(op *o)
{
    if (!auth_user_allows(o, o->next, SCOPE_READ)) {
        /* a target outside what the caller may read gets the answer for one that does not exist */
        validation_add(&o->v, "scope.id", "%s", s_scope_not_found_ru[o->next->scope->kind]);
        auth_fail_validation(o);
        return;
    }
    if (!auth_user_allows(o, o->next, SCOPE_WRITE)) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
                  "Создавать пользователей можно только в пределах своей области");
        return;
    }
    const Metodnet__CreateUserRequest *req = (const Metodnet__CreateUserRequest *)o->request;
    if (auth_password_hash(o->a->loop, req->password, s_create_user_hashed, o) != 0)
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Не удалось обработать пароль");
}

static void s_create_user_written(entity_result result, int64_t detail, const char *error, void *ud)
{
    (void)detail;
    op *o = ud;
    switch (result) {
    case ENTITY_OK:
        o->response = &o->next->base;
        auth_audit_reply(o, "create", "user", o->next->id, o->next->region_id);
        return;
    case ENTITY_CLAIMED: {
        validation_add(&o->v, "login", "Логин «%s» уже занят", o->next->login);
        auth_fail_validation(o);
        return;
    }
    case ENTITY_EXISTS:
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT, "Пользователь с таким идентификатором уже есть");
        return;
    default:
        auth_unavailable(o, "запись пользователя не удалась", error);
        return;
    }
}

static void s_create_user_id(entity_result result, int64_t value, const char *error, void *ud)
{
    op *o = ud;
    if (result != ENTITY_OK) {
        auth_unavailable(o, "не удалось выдать идентификатор", error);
        return;
    }
    char id[32], now[40];
    snprintf(id, sizeof id, "u%lld", (long long)value);
    auth_now(now, sizeof now);
    auth_set_text(&o->next->id, id);
    auth_set_text(&o->next->created_at, now);
    auth_set_text(&o->next->updated_at, now);
    o->next->version = 1;
    auth_store_meta meta = {auth_caller(o), service_call_request_id(o->call), "user.created"};
    if (auth_store_user_create(o->a->store, o->next, o->password_hash, false, &meta, s_create_user_written, o) != 0)
        auth_unavailable(o, "запись пользователя не поставлена в очередь", NULL);
}

static void s_create_user_hashed(const char *hash, void *ud)
{
    op *o = ud;
    if (hash == NULL) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Не удалось обработать пароль");
        return;
    }
    snprintf(o->password_hash, sizeof o->password_hash, "%s", hash);
    if (entity_store_next_id(o->a->store, AUTH_USER_SEQUENCE, s_create_user_id, o) != 0)
        auth_unavailable(o, "не удалось запросить идентификатор", NULL);
}

void auth_create_user(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = auth_op_new(ud, call, request);
    const Metodnet__CreateUserRequest *req = (const Metodnet__CreateUserRequest *)request;
    const Metodnet__Principal *caller = auth_caller(o);

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
        auth_fail_validation(o);
        return;
    }
    if (!auth_may_manage_role(caller, req->role)) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
                  "Можно создавать только пользователей с ролью ниже своей");
        return;
    }
    if (!scope_is_global(caller) && strcmp(region, caller->region_id ? caller->region_id : "") != 0) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
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
    o->next = auth_own(&user.base);

    static const char *const methods[] = {"", "", "GetRegion", "GetMunicipality", "GetOrganization", "GetStaff"};
    static const ProtobufCMessageDescriptor *const types[] = {NULL,
                                                              NULL,
                                                              &metodnet__region__descriptor,
                                                              &metodnet__municipality__descriptor,
                                                              &metodnet__organization__descriptor,
                                                              &metodnet__staff_member__descriptor};
    auth_registry_get(o, methods[scope.kind], scope_id, types[scope.kind], s_create_user_target);
}

/* ---------- GetUser, Me ---------- */

static void s_get_user_loaded(op *o)
{
    const Metodnet__User *user = o->stored->user;
    if (!auth_user_visible(o, user)) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, auth_user_not_found_ru);
        return;
    }
    o->response = &o->stored->user->base;
    auth_audit_reply(o, "read", "user", user->id, user->region_id);
}

void auth_get_user(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = auth_op_new(ud, call, request);
    auth_load_user(o, ((const Metodnet__GetRequest *)request)->id, s_get_user_loaded);
}

/* ---------- SetUserDisabled, ResetPassword ---------- */

static void s_sessions_ended(const redisReply *reply, const char *error, void *ud)
{
    op *o = ud;
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        /* The change is stored but old sessions may live: the client must retry (both are idempotent). */
        auth_unavailable(o, "сеансы пользователя не завершены",
                         error ? error
                               : (reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "неожиданный ответ"));
        return;
    }
    if (o->next == NULL) { /* already disabled: nothing changed, nothing to audit */
        auth_reply(o, &o->stored->user->base);
        return;
    }
    bool reset = o->request->descriptor == &metodnet__reset_password_request__descriptor;
    const char *action = reset ? "reset_password" : "disable";
    const Metodnet__User *user = o->next;
    o->response = &o->next->base;
    auth_audit_reply(o, action, "user", user->id, user->region_id);
}

static void s_end_sessions(op *o, const char *user_id)
{
    char key[AUTH_KEY_MAX];
    auth_user_sessions_key(user_id, key, sizeof key);
    const char *argv[] = {key, AUTH_SESSION_PREFIX};
    if (redis_link_evalsha(o->a->link, o->a->user_sessions_end, 1, 2, argv, NULL, s_sessions_ended, o) != 0)
        auth_unavailable(o, "завершение сеансов не поставлено в очередь", NULL);
}

static void s_user_updated(entity_result result, int64_t detail, const char *error, void *ud)
{
    (void)detail;
    op *o = ud;
    if (result == ENTITY_VERSION_MISMATCH || result == ENTITY_NOT_FOUND) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT, auth_conflict_ru);
        return;
    }
    if (result != ENTITY_OK) {
        auth_unavailable(o, "запись пользователя не удалась", error);
        return;
    }
    bool reset = o->request->descriptor == &metodnet__reset_password_request__descriptor;
    if (reset || o->flag) {
        s_end_sessions(o, o->next->id);
        return;
    }
    o->response = &o->next->base;
    auth_audit_reply(o, "enable", "user", o->next->id, o->next->region_id);
}

/* o->next := the loaded user with a new version; the caller changes what it changes, then writes. */
static void s_next_version(op *o)
{
    char now[40];
    o->next = auth_own(&o->stored->user->base);
    o->next->version = o->stored->user->version + 1;
    auth_now(now, sizeof now);
    auth_set_text(&o->next->updated_at, now);
}

static void s_write_user_update(op *o, const char *event_type)
{
    auth_store_meta meta = {auth_caller(o), service_call_request_id(o->call), event_type};
    const char *hash = o->password_hash[0] ? o->password_hash : o->stored->password_hash;
    if (auth_store_user_update(o->a->store, o->stored->user, o->next, hash, &meta, s_user_updated, o) != 0)
        auth_unavailable(o, "запись пользователя не поставлена в очередь", NULL);
}

static void s_set_disabled_loaded(op *o)
{
    if (!auth_check_manage(o))
        return;
    if (o->stored->user->disabled == o->flag) {
        if (o->flag)
            s_end_sessions(o, o->stored->user->id); /* a retry after a failed end of sessions */
        else
            auth_reply(o, &o->stored->user->base);
        return;
    }
    s_next_version(o);
    o->next->disabled = o->flag;
    s_write_user_update(o, o->flag ? "user.disabled" : "user.enabled");
}

void auth_set_user_disabled(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = auth_op_new(ud, call, request);
    const Metodnet__SetUserDisabledRequest *req = (const Metodnet__SetUserDisabledRequest *)request;
    o->flag = req->disabled;
    auth_load_user(o, req->id, s_set_disabled_loaded);
}

static void s_reset_hashed(const char *hash, void *ud)
{
    op *o = ud;
    if (hash == NULL) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Не удалось обработать пароль");
        return;
    }
    snprintf(o->password_hash, sizeof o->password_hash, "%s", hash);
    s_next_version(o);
    s_write_user_update(o, "user.password_reset");
}

static void s_reset_loaded(op *o)
{
    if (!auth_check_manage(o))
        return;
    const Metodnet__ResetPasswordRequest *req = (const Metodnet__ResetPasswordRequest *)o->request;
    if (auth_password_hash(o->a->loop, req->password, s_reset_hashed, o) != 0)
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Не удалось обработать пароль");
}

void auth_reset_password(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = auth_op_new(ud, call, request);
    const Metodnet__ResetPasswordRequest *req = (const Metodnet__ResetPasswordRequest *)request;
    auth_validate_password(&o->v, "password", req->password);
    if (!validation_ok(&o->v)) {
        auth_fail_validation(o);
        return;
    }
    auth_load_user(o, req->id, s_reset_loaded);
}

static void s_users_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                           const char *error, void *ud)
{
    op *o = ud;
    if (result != ENTITY_OK) {
        auth_unavailable(o, "список пользователей не получен", error);
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
        if (s == NULL || s->user == NULL || !auth_user_visible(o, s->user)) {
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
    auth_op_free(o);
}

void auth_list_users(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = auth_op_new(ud, call, request);
    const Metodnet__ListUsersRequest *req = (const Metodnet__ListUsersRequest *)request;
    const Metodnet__Principal *caller = auth_caller(o);
    size_t limit;
    char after[CURSOR_MAX_MEMBER + 1];
    const char *tokens[6];
    char token_text[6][160];
    size_t n_tokens = 0;
    auth_page(&o->v, req->limit, req->cursor, &limit, after, sizeof after);
    if (req->role && *req->role) {
        bool known = false;
        for (int r = METODNET__ROLE__ROLE_REGION_ADMIN; r <= METODNET__ROLE__ROLE_TEACHER; r++)
            known |= strcmp(req->role, auth_role_word((Metodnet__Role)r)) == 0;
        if (known)
            auth_add_list_token(tokens, token_text, &n_tokens, "role", req->role);
        else
            validation_add(&o->v, "role", "Недопустимое значение «%.60s»", req->role);
    }
    if (req->disabled && *req->disabled) {
        if (strcmp(req->disabled, "true") == 0 || strcmp(req->disabled, "false") == 0)
            auth_add_list_token(tokens, token_text, &n_tokens, "dis", req->disabled);
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
        auth_fail_validation(o);
        return;
    }
    /* The index of the caller's scope: scoped callers never scan beyond it. */
    char index[AUTH_KEY_MAX];
    switch (auth_is_system(caller) ? METODNET__SCOPE_KIND__SCOPE_KIND_ALL : caller->scope_kind) {
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
        auth_add_list_token(tokens, token_text, &n_tokens, "id", caller->user_id);
        break;
    default:
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, auth_denied_ru);
        return;
    }
    if (caller->role == METODNET__ROLE__ROLE_SCHOOL_SYSTEM) {
        auth_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, auth_denied_ru);
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
        auth_unavailable(o, "список пользователей не поставлен в очередь", NULL);
}
