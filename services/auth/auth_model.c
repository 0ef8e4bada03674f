/* auth_model — policy, ranks, territory, keys and token helpers of the auth service (see header). */
#include "auth_model.h"

#include <stdio.h>
#include <string.h>
#include <sodium.h>

/* ---------- policy ---------- */

bool auth_login_normalize(const char *login, char *out, size_t size)
{
    if (login == NULL || size < AUTH_LOGIN_MAX + 1)
        return false;
    size_t n = strlen(login);
    if (n < AUTH_LOGIN_MIN || n > AUTH_LOGIN_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = login[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
        out[i] = c;
    }
    out[n] = '\0';
    return true;
}

void auth_validate_login(validation *v, const char *login)
{
    char normalized[AUTH_LOGIN_MAX + 1];
    if (login == NULL || *login == '\0')
        validation_add(v, "login", "Укажите логин");
    else if (!auth_login_normalize(login, normalized, sizeof normalized))
        validation_add(v, "login", "Логин — от %d до %d символов: латинские буквы, цифры, точка, дефис, подчёркивание",
                       AUTH_LOGIN_MIN, AUTH_LOGIN_MAX);
}

void auth_validate_password(validation *v, const char *field, const char *password)
{
    if (password == NULL || *password == '\0') {
        validation_add(v, field, "Укажите пароль");
        return;
    }
    size_t bytes = strlen(password);
    if (bytes > 4 * AUTH_PASSWORD_MAX || !utf8_valid(password, bytes)) {
        validation_add(v, field, "Пароль — от %d до %d символов", AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
        return;
    }
    size_t chars = utf8_length(password);
    if (chars < AUTH_PASSWORD_MIN || chars > AUTH_PASSWORD_MAX)
        validation_add(v, field, "Пароль — от %d до %d символов", AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
}

int auth_role_rank(Metodnet__Role role)
{
    switch (role) {
    case METODNET__ROLE__ROLE_REGION_ADMIN:
        return 4;
    case METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST:
        return 3;
    case METODNET__ROLE__ROLE_SCHOOL_ADMIN:
        return 2;
    case METODNET__ROLE__ROLE_TEACHER:
        return 1;
    default:
        return 0;
    }
}

Metodnet__ScopeKind auth_role_scope_kind(Metodnet__Role role)
{
    switch (role) {
    case METODNET__ROLE__ROLE_REGION_ADMIN:
        return METODNET__SCOPE_KIND__SCOPE_KIND_REGION;
    case METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST:
        return METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY;
    case METODNET__ROLE__ROLE_SCHOOL_ADMIN:
        return METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION;
    case METODNET__ROLE__ROLE_TEACHER:
        return METODNET__SCOPE_KIND__SCOPE_KIND_SELF;
    default:
        return METODNET__SCOPE_KIND__SCOPE_KIND_UNSPECIFIED;
    }
}

bool auth_may_manage_role(const Metodnet__Principal *caller, Metodnet__Role target)
{
    if (caller == NULL || auth_role_rank(target) == 0)
        return false;
    if (scope_is_global(caller))
        return true;
    return auth_role_rank(caller->role) > auth_role_rank(target);
}

const char *auth_role_word(Metodnet__Role role)
{
    switch (role) {
    case METODNET__ROLE__ROLE_REGION_ADMIN:
        return "region_admin";
    case METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST:
        return "municipal_methodologist";
    case METODNET__ROLE__ROLE_SCHOOL_ADMIN:
        return "school_admin";
    case METODNET__ROLE__ROLE_TEACHER:
        return "teacher";
    case METODNET__ROLE__ROLE_SCHOOL_SYSTEM:
        return "school_system";
    case METODNET__ROLE__ROLE_SYSTEM:
        return "system";
    default:
        return "none";
    }
}

/* ---------- users ---------- */

void auth_user_territory(const Metodnet__User *user, auth_territory *out)
{
    memset(out, 0, sizeof *out);
    out->object.region_id = user->region_id;
    if (user->municipality_id && *user->municipality_id) {
        out->municipalities[0] = user->municipality_id;
        out->object.municipality_ids = out->municipalities;
        out->object.n_municipalities = 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < user->n_organization_ids && n < AUTH_MAX_ORGANIZATIONS; i++)
        out->organizations[n++] = user->organization_ids[i];
    out->object.organization_ids = out->organizations;
    out->object.n_organizations = n;
    if (user->scope && user->scope->kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF)
        out->object.person_id = user->scope->id;
}

void auth_user_principal(const Metodnet__User *user, Metodnet__Principal *out)
{
    metodnet__principal__init(out);
    out->user_id = user->id;
    out->role = user->role;
    out->scope_kind = user->scope ? user->scope->kind : METODNET__SCOPE_KIND__SCOPE_KIND_UNSPECIFIED;
    out->scope_id = user->scope && user->scope->id ? user->scope->id : (char *)"";
    out->region_id = user->region_id;
    out->municipality_id = user->municipality_id;
}

static void s_add_index(auth_layout *out, const char *key, const char *member)
{
    entity_layout_index(out, member, "%s", key);
}

static void s_add_token(auth_layout *out, const char *name, const char *value)
{
    entity_layout_token(out, name, value);
}

void auth_user_layout(const Metodnet__User *user, auth_layout *out)
{
    char key[AUTH_KEY_MAX], member[AUTH_MEMBER_MAX];
    snprintf(member, sizeof member, "%s\x1f%s", user->login, user->id);
    s_add_index(out, "auth:{g}:ix:users", member);
    snprintf(key, sizeof key, "auth:{g}:ix:users:r:%s", user->region_id);
    s_add_index(out, key, member);
    if (user->municipality_id && *user->municipality_id) {
        snprintf(key, sizeof key, "auth:{g}:ix:users:m:%s", user->municipality_id);
        s_add_index(out, key, member);
    }
    for (size_t i = 0; i < user->n_organization_ids && i < AUTH_MAX_ORGANIZATIONS; i++) {
        snprintf(key, sizeof key, "auth:{g}:ix:users:o:%s", user->organization_ids[i]);
        s_add_index(out, key, member);
    }
    entity_layout_claim(out, "login", user->login, "%s", AUTH_LOGIN_CLAIMS);
    if (user->role == METODNET__ROLE__ROLE_REGION_ADMIN) {
        auth_region_admin_index(user->region_id, key, sizeof key);
        s_add_index(out, key, user->id);
    }
    s_add_token(out, "id", user->id);
    s_add_token(out, "role", auth_role_word(user->role));
    s_add_token(out, "reg", user->region_id);
    if (user->municipality_id && *user->municipality_id)
        s_add_token(out, "mun", user->municipality_id);
    for (size_t i = 0; i < user->n_organization_ids && i < AUTH_MAX_ORGANIZATIONS; i++)
        s_add_token(out, "org", user->organization_ids[i]);
    if (user->staff_id && *user->staff_id)
        s_add_token(out, "staff", user->staff_id);
    s_add_token(out, "dis", user->disabled ? "true" : "false");
}

void auth_api_key_layout(const Metodnet__ApiKey *key, const char *secret_hash, auth_layout *out)
{
    char index[AUTH_KEY_MAX], member[AUTH_MEMBER_MAX], folded[256];
    text_fold(key->name ? key->name : "", folded, 200);
    entity_sort_collate(folded);
    snprintf(member, sizeof member, "%s\x1f%s", folded, key->id);
    s_add_index(out, "auth:{g}:ix:apikeys", member);
    snprintf(index, sizeof index, "auth:{g}:ix:apikeys:r:%s", key->region_id);
    s_add_index(out, index, member);
    if (key->municipality_id && *key->municipality_id) {
        snprintf(index, sizeof index, "auth:{g}:ix:apikeys:m:%s", key->municipality_id);
        s_add_index(out, index, member);
    }
    if (secret_hash && !key->revoked) {
        auth_api_key_secret_key(secret_hash, index, sizeof index);
        s_add_index(out, index, key->id);
    }
    s_add_token(out, "id", key->id);
    s_add_token(out, "reg", key->region_id);
    if (key->municipality_id && *key->municipality_id)
        s_add_token(out, "mun", key->municipality_id);
    if (key->scope && key->scope->kind == METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION)
        s_add_token(out, "org", key->scope->id);
    s_add_token(out, "rev", key->revoked ? "true" : "false");
}

/* ---------- keys ---------- */

static bool s_numbered_id(const char *id, char letter)
{
    if (id == NULL || id[0] != letter || id[1] == '\0' || strlen(id) > 20)
        return false;
    for (const char *p = id + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

bool auth_user_key(const char *id, char *out, size_t size)
{
    if (!s_numbered_id(id, 'u'))
        return false;
    snprintf(out, size, AUTH_USER_PREFIX "%s", id);
    return true;
}

bool auth_api_key_key(const char *id, char *out, size_t size)
{
    if (!s_numbered_id(id, 'k'))
        return false;
    snprintf(out, size, AUTH_APIKEY_PREFIX "%s", id);
    return true;
}

void auth_region_admin_index(const char *region, char *out, size_t size)
{
    snprintf(out, size, "auth:{g}:ix:region-admin:%s", region);
}

void auth_user_sessions_key(const char *user_id, char *out, size_t size)
{
    snprintf(out, size, "auth:{g}:user-sessions:%s", user_id);
}

void auth_api_key_secret_key(const char *secret_hash, char *out, size_t size)
{
    snprintf(out, size, "auth:{g}:apikey-secret:%s", secret_hash);
}

void auth_api_key_used_key(const char *id, char *out, size_t size)
{
    snprintf(out, size, "auth:{g}:apikey-used:%s", id);
}

void auth_login_failure_key(const char *login, char *out, size_t size)
{
    char hash[AUTH_HASH_HEX];
    auth_token_hash(login, hash, sizeof hash);
    snprintf(out, size, "auth:{g}:fail:login:%s", hash);
}

bool auth_region_of(const char *id, char *out, size_t size)
{
    if (!id_valid(id) || size < 3)
        return false;
    if (!(id[0] >= '0' && id[0] <= '9' && id[1] >= '0' && id[1] <= '9') || (id[2] != '\0' && id[2] != '-'))
        return false;
    memcpy(out, id, 2);
    out[2] = '\0';
    return true;
}

/* ---------- tokens ---------- */

void auth_token_new(const char *prefix, char *out, size_t size)
{
    unsigned char random[16];
    char hex[33];
    randombytes_buf(random, sizeof random);
    sodium_bin2hex(hex, sizeof hex, random, sizeof random);
    snprintf(out, size, "%s%s", prefix, hex);
    sodium_memzero(random, sizeof random);
    sodium_memzero(hex, sizeof hex);
}

bool auth_token_valid(const char *token, const char *prefix)
{
    size_t p = strlen(prefix);
    if (token == NULL || strlen(token) != p + 32 || strncmp(token, prefix, p) != 0)
        return false;
    for (const char *c = token + p; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return false;
    return true;
}

void auth_token_hash(const char *token, char *out, size_t size)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)token, strlen(token));
    if (size >= AUTH_HASH_HEX)
        sodium_bin2hex(out, size, digest, sizeof digest);
    else if (size > 0)
        out[0] = '\0';
}

/* ---------- rate limit ---------- */

int64_t auth_rate_wait_ms(int64_t failures, int64_t last_failure_ms, int64_t now_ms, int64_t free_failures,
                          int64_t cap_ms)
{
    if (failures < free_failures)
        return 0;
    int64_t shift = failures - free_failures;
    int64_t window = shift >= 30 ? cap_ms : ((int64_t)1 << shift) * 1000;
    if (window > cap_ms)
        window = cap_ms;
    int64_t until = last_failure_ms + window;
    return until > now_ms ? until - now_ms : 0;
}
