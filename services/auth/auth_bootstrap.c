/* auth_bootstrap — the first administrator of a region (auth_bootstrap_check, auth_bootstrap_admin in
 * auth.h): written to the store without the service (ops/up), audited as the bootstrap actor. */
#include "auth_internal.h"

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
    (void)detail;
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
    } else if (result == ENTITY_NOT_EMPTY) { /* the region has its administrator */
        s_bootstrap_finish(b, AUTH_BOOTSTRAP_EXISTS, "Администратор уже создан");
    } else if (result == ENTITY_CLAIMED) { /* the login is a claim */
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
    auth_now(now, sizeof now);
    auth_set_text(&b->user->id, id);
    auth_set_text(&b->user->created_at, now);
    auth_set_text(&b->user->updated_at, now);
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
    b->user = auth_own(&user.base);
    if (b->store == NULL || b->audit == NULL || auth_password_hash(loop, password, s_bootstrap_hashed, b) != 0) {
        metodnet__user__free_unpacked(b->user, NULL);
        entity_store_destroy(&b->store);
        audit_destroy(&b->audit);
        free(b);
        return -1;
    }
    return 0;
}
