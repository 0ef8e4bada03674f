/* test_auth_service — the auth service end to end in one process: a real redis-server, the MDP broker,
 * the registry and auth services on one loop, called as the gateway would call them. Logins,
 * identical failures, the rate limit, session expiry, API keys, rank and scope rules, sessions ended
 * by disabling and password resets, the audit trail, and the bootstrap of the first administrator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>

#include "auth.pb-c.h"
#include "auth_model.h"
#include "auth_password.h"
#include "clock.h"
#include "pbfield.h"
#include "stack_fixture.h"

static const char *const s_admin_password = "Adm1n-пароль-надёжный";

/* ---------- auth helpers ---------- */

typedef struct {
    bool done;
    auth_bootstrap_result result;
} bootstrap_result;

static void s_bootstrapped(auth_bootstrap_result result, const char *user_id, const char *message, void *ud)
{
    (void)user_id;
    (void)message;
    bootstrap_result *r = ud;
    r->done = true;
    r->result = result;
}

static auth_bootstrap_result s_bootstrap(stack_fixture *f, const char *region, const char *login, const char *password)
{
    bootstrap_result r = {0};
    assert_int_equal(
        auth_bootstrap_admin(&f->loop, f->auth_link, region, login, "Администратор", password, s_bootstrapped, &r), 0);
    while (!r.done)
        uv_run(&f->loop, UV_RUN_ONCE);
    return r.result;
}

static stack_call_result s_login(stack_fixture *f, const char *login, const char *password, const char *address)
{
    Metodnet__LoginRequest req = METODNET__LOGIN_REQUEST__INIT;
    req.login = (char *)login;
    req.password = (char *)password;
    return stack_fixture_call(f, "auth", "Login", &req.base, &metodnet__login_response__descriptor,
                              service_client_system_principal(), address);
}

static stack_call_result s_authenticate(stack_fixture *f, const char *token)
{
    Metodnet__AuthenticateRequest req = METODNET__AUTHENTICATE_REQUEST__INIT;
    req.token = (char *)token;
    return stack_fixture_call(f, "auth", "Authenticate", &req.base, &metodnet__authenticate_response__descriptor,
                              service_client_system_principal(), "");
}

/* Logs in and authenticates: the principal the gateway would put into envelopes (caller frees). */
static Metodnet__Principal *s_principal(stack_fixture *f, const char *login, const char *password, char *token,
                                        size_t token_size)
{
    stack_call_result r = s_login(f, login, password, "192.0.2.10");
    if (r.code != METODNET__STATUS_CODE__STATUS_CODE_OK)
        fail_msg("login %s: %d %s", login, r.code, r.message);
    const Metodnet__LoginResponse *login_response = (const Metodnet__LoginResponse *)r.response;
    char local[64];
    if (token == NULL) {
        token = local;
        token_size = sizeof local;
    }
    snprintf(token, token_size, "%s", login_response->token);
    stack_call_result_free(&r);
    r = s_authenticate(f, token);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    Metodnet__AuthenticateResponse *ar = (Metodnet__AuthenticateResponse *)r.response;
    Metodnet__Principal *p = (Metodnet__Principal *)pbfield_clone(&ar->principal->base);
    stack_call_result_free(&r);
    return p;
}

static stack_call_result s_create_user(stack_fixture *f, const Metodnet__Principal *caller, const char *login,
                                       const char *password, Metodnet__Role role, Metodnet__ScopeKind kind,
                                       const char *scope_id)
{
    Metodnet__ScopeRef scope = METODNET__SCOPE_REF__INIT;
    scope.kind = kind;
    scope.id = (char *)scope_id;
    Metodnet__CreateUserRequest req = METODNET__CREATE_USER_REQUEST__INIT;
    req.login = (char *)login;
    req.password = (char *)password;
    req.full_name = "Иванова Мария Петровна";
    req.role = role;
    req.scope = &scope;
    return stack_fixture_call(f, "auth", "CreateUser", &req.base, &metodnet__user__descriptor, caller, "192.0.2.10");
}

/* The registry and auth services on the shared stack; options NULL = auth's defaults. */
static stack_fixture *s_fixture_new(const auth_options *options)
{
    stack_fixture_options o;
    stack_fixture_options_default(&o, STACK_REGISTRY | STACK_AUTH);
    o.auth = options;
    return stack_fixture_new_with(&o);
}

static int s_setup(void **state)
{
    stack_fixture *f = s_fixture_new(NULL);
    stack_fixture_seed_registry(f);
    assert_int_equal(s_bootstrap(f, "07", "Admin07", s_admin_password), AUTH_BOOTSTRAP_CREATED);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    stack_fixture *f = *state;
    stack_fixture_destroy(&f);
    return 0;
}

static void test_login_authenticate_me_logout(void **state)
{
    stack_fixture *f = *state;
    int64_t before = clock_unix_ms();
    stack_call_result r = s_login(f, "ADMIN07", s_admin_password, "192.0.2.1"); /* logins ignore case */
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    const Metodnet__LoginResponse *login = (const Metodnet__LoginResponse *)r.response;
    assert_true(auth_token_valid(login->token, AUTH_SESSION_TOKEN_PREFIX));
    assert_string_equal(login->user->login, "admin07");
    assert_int_equal(login->user->role, METODNET__ROLE__ROLE_REGION_ADMIN);
    assert_string_equal(login->user->region_id, "07");
    assert_true(strlen(login->expires_at) >= 20);
    char token[64];
    snprintf(token, sizeof token, "%s", login->token);
    stack_call_result_free(&r);
    /* only the hash of the token is stored */
    assert_false(stack_fixture_redis_contains(f, token));

    r = s_authenticate(f, token);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    const Metodnet__AuthenticateResponse *ar = (const Metodnet__AuthenticateResponse *)r.response;
    assert_int_equal(ar->principal->role, METODNET__ROLE__ROLE_REGION_ADMIN);
    assert_int_equal(ar->principal->scope_kind, METODNET__SCOPE_KIND__SCOPE_KIND_REGION);
    assert_string_equal(ar->principal->scope_id, "07");
    assert_string_equal(ar->principal->region_id, "07");
    assert_true(ar->valid_until_unix_ms > before);
    assert_true(ar->valid_until_unix_ms <= clock_unix_ms() + 5000);
    Metodnet__Principal *admin = (Metodnet__Principal *)pbfield_clone(&ar->principal->base);
    stack_call_result_free(&r);

    Metodnet__MeRequest me = METODNET__ME_REQUEST__INIT;
    r = stack_fixture_call(f, "auth", "Me", &me.base, &metodnet__user__descriptor, admin, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    assert_string_equal(((Metodnet__User *)r.response)->id, admin->user_id);
    stack_call_result_free(&r);
    /* a system caller is nobody's user */
    r = stack_fixture_call(f, "auth", "Me", &me.base, &metodnet__user__descriptor, service_client_system_principal(),
                           "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND);
    stack_call_result_free(&r);

    /* Authenticate is the gateway's: a user may not call it */
    Metodnet__AuthenticateRequest areq = METODNET__AUTHENTICATE_REQUEST__INIT;
    areq.token = token;
    r = stack_fixture_call(f, "auth", "Authenticate", &areq.base, &metodnet__authenticate_response__descriptor, admin,
                           "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);
    stack_call_result_free(&r);

    Metodnet__LogoutRequest out = METODNET__LOGOUT_REQUEST__INIT;
    out.token = token;
    r = stack_fixture_call(f, "auth", "Logout", &out.base, &metodnet__logout_response__descriptor, admin, "192.0.2.1");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    stack_call_result_free(&r);
    r = s_authenticate(f, token);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED);
    assert_string_equal(r.message, "Требуется вход в систему");
    stack_call_result_free(&r);
    /* garbage tokens get the same answer without detail */
    r = s_authenticate(f, "mns_zzzz");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED);
    assert_string_equal(r.message, "Требуется вход в систему");
    stack_call_result_free(&r);
    metodnet__principal__free_unpacked(admin, NULL);
}

static void test_wrong_password_and_unknown_login_answer_alike(void **state)
{
    stack_fixture *f = *state;
    stack_call_result wrong = s_login(f, "admin07", "совсем-не-тот-пароль", "192.0.2.2");
    stack_call_result unknown = s_login(f, "nobody.here", "совсем-не-тот-пароль", "192.0.2.3");
    assert_int_equal(wrong.code, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED);
    assert_int_equal(unknown.code, wrong.code);
    assert_string_equal(wrong.message, "Неверный логин или пароль");
    assert_string_equal(unknown.message, wrong.message);
    assert_null(wrong.response);
    assert_null(unknown.response);
    assert_string_equal(wrong.field, unknown.field);
}

static void test_sixth_failure_is_refused_with_retry_after(void **state)
{
    stack_fixture *f = *state;
    for (int i = 0; i < 5; i++) {
        stack_call_result r = s_login(f, "admin07", "неверный-пароль-1", "192.0.2.4");
        assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED);
    }
    char counter[AUTH_KEY_MAX];
    auth_login_failure_key("admin07", counter, sizeof counter);
    redisReply *exists = stack_fixture_redis(f, "EXISTS %s", counter);
    assert_int_equal(exists->integer, 1);
    freeReplyObject(exists);
    /* even the right password is refused now, from another address too (the login's counter) */
    stack_call_result r = s_login(f, "admin07", s_admin_password, "198.51.100.9");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_TOO_MANY_REQUESTS);
    assert_true(r.retry_after > 0);
    assert_null(r.response);
    /* and the address's counter refuses other logins from it */
    r = s_login(f, "someone.else", "неверный-пароль-1", "192.0.2.4");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_TOO_MANY_REQUESTS);
    /* after the delay (1 s after the 5th failure) the right password works and clears the login's counter */
    stack_fixture_run_for(f, 1100);
    r = s_login(f, "admin07", s_admin_password, "198.51.100.9");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    stack_call_result_free(&r);
    exists = stack_fixture_redis(f, "EXISTS %s", counter);
    assert_int_equal(exists->integer, 0);
    freeReplyObject(exists);
}

static void test_argon2id_parameters(void **state)
{
    stack_fixture *f = *state;
    redisReply *d = stack_fixture_redis(f, "HGET auth:{g}:user:u1 d");
    assert_int_equal(d->type, REDIS_REPLY_STRING);
    Metodnet__StoredUser *stored = metodnet__stored_user__unpack(NULL, d->len, (const uint8_t *)d->str);
    freeReplyObject(d);
    assert_non_null(stored);
    const char *hash = stored->password_hash;
    unsigned long m = 0, t = 0, p = 0;
    assert_int_equal(strncmp(hash, "$argon2id$v=19$", 15), 0);
    assert_int_equal(sscanf(hash + 15, "m=%lu,t=%lu,p=%lu$", &m, &t, &p), 3);
    assert_true(m >= 19456); /* KiB: OWASP minimum 19 MiB */
    assert_true(t >= 2);
    assert_null(strstr(hash, s_admin_password));
    assert_int_equal(crypto_pwhash_str_verify(hash, s_admin_password, strlen(s_admin_password)), 0);
    /* the dummy hash for unknown logins costs the same */
    assert_int_equal(
        crypto_pwhash_str_needs_rehash(auth_password_dummy_hash(), auth_password_opslimit(), auth_password_memlimit()),
        0);
    assert_int_equal(crypto_pwhash_str_needs_rehash(hash, auth_password_opslimit(), auth_password_memlimit()), 0);
    metodnet__stored_user__free_unpacked(stored, NULL);
    /* the password is nowhere in Redis */
    assert_false(stack_fixture_redis_contains(f, s_admin_password));
}

static void test_rank_and_scope_rules(void **state)
{
    stack_fixture *f = *state;
    Metodnet__Principal *admin = s_principal(f, "admin07", s_admin_password, NULL, 0);
    const char *pw = "Методист-пароль-1";
    stack_call_result r = s_create_user(f, admin, "Metod.M1", pw, METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                                        METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m1");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    const Metodnet__User *u = (const Metodnet__User *)r.response;
    assert_string_equal(u->login, "metod.m1");
    assert_string_equal(u->region_id, "07");
    assert_string_equal(u->municipality_id, "07-m1");
    stack_call_result_free(&r);
    /* a region admin cannot create another region admin (same rank) */
    r = s_create_user(f, admin, "admin2", pw, METODNET__ROLE__ROLE_REGION_ADMIN,
                      METODNET__SCOPE_KIND__SCOPE_KIND_REGION, "07");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);
    /* login taken, whatever the case */
    r = s_create_user(f, admin, "METOD.m1", pw, METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                      METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m2");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT);
    assert_string_equal(r.field, "login");
    /* role and scope kind must match; the target must exist; the password must be long enough */
    r = s_create_user(f, admin, "x.user", pw, METODNET__ROLE__ROLE_SCHOOL_ADMIN,
                      METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m1");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT);
    assert_string_equal(r.field, "scope.kind");
    r = s_create_user(f, admin, "x.user", pw, METODNET__ROLE__ROLE_SCHOOL_ADMIN,
                      METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o99");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT);
    assert_string_equal(r.field, "scope.id");
    r = s_create_user(f, admin, "x.user", "короткий", METODNET__ROLE__ROLE_SCHOOL_ADMIN,
                      METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o1");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT);
    assert_string_equal(r.field, "password");

    Metodnet__Principal *metod = s_principal(f, "metod.m1", pw, NULL, 0);
    assert_string_equal(metod->municipality_id, "07-m1");
    r = s_create_user(f, metod, "new.admin", pw, METODNET__ROLE__ROLE_REGION_ADMIN,
                      METODNET__SCOPE_KIND__SCOPE_KIND_REGION, "07");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);
    r = s_create_user(f, metod, "metod.two", pw, METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                      METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m1");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);
    /* a school and a teacher of another municipality: answered as if they did not exist */
    r = s_create_user(f, metod, "school.o2", pw, METODNET__ROLE__ROLE_SCHOOL_ADMIN,
                      METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o2");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT);
    assert_string_equal(r.field, "scope.id");
    r = s_create_user(f, metod, "school.o99", pw, METODNET__ROLE__ROLE_SCHOOL_ADMIN,
                      METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o99");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT);
    assert_string_equal(r.field, "scope.id");
    r = s_create_user(f, metod, "teacher.s2", pw, METODNET__ROLE__ROLE_TEACHER, METODNET__SCOPE_KIND__SCOPE_KIND_SELF,
                      "07-s2");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT);
    assert_string_equal(r.field, "scope.id");
    /* its own municipality's school and teacher */
    r = s_create_user(f, metod, "school.o1", pw, METODNET__ROLE__ROLE_SCHOOL_ADMIN,
                      METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o1");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    stack_call_result_free(&r);
    Metodnet__Principal *school = s_principal(f, "school.o1", pw, NULL, 0);
    assert_string_equal(school->municipality_id, "07-m1");
    r = s_create_user(f, school, "teacher.s1", pw, METODNET__ROLE__ROLE_TEACHER, METODNET__SCOPE_KIND__SCOPE_KIND_SELF,
                      "07-s1");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    const Metodnet__User *teacher = (const Metodnet__User *)r.response;
    assert_string_equal(teacher->staff_id, "07-s1");
    assert_int_equal(teacher->n_organization_ids, 1);
    assert_string_equal(teacher->organization_ids[0], "07-o1");
    stack_call_result_free(&r);
    Metodnet__Principal *teacher_p = s_principal(f, "teacher.s1", pw, NULL, 0);
    assert_int_equal(teacher_p->scope_kind, METODNET__SCOPE_KIND__SCOPE_KIND_SELF);
    assert_string_equal(teacher_p->scope_id, "07-s1");
    r = s_create_user(f, teacher_p, "teacher.x", pw, METODNET__ROLE__ROLE_TEACHER,
                      METODNET__SCOPE_KIND__SCOPE_KIND_SELF, "07-s1");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);

    /* lists: the methodologist sees its municipality's users, not the region admin nor others */
    Metodnet__ListUsersRequest list = METODNET__LIST_USERS_REQUEST__INIT;
    r = stack_fixture_call(f, "auth", "ListUsers", &list.base, &metodnet__list_users_response__descriptor, metod, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    const Metodnet__ListUsersResponse *users = (const Metodnet__ListUsersResponse *)r.response;
    assert_int_equal(users->n_items, 3); /* metod.m1, school.o1, teacher.s1 */
    for (size_t i = 0; i < users->n_items; i++)
        assert_string_equal(users->items[i]->municipality_id, "07-m1");
    stack_call_result_free(&r);
    list.role = "teacher";
    r = stack_fixture_call(f, "auth", "ListUsers", &list.base, &metodnet__list_users_response__descriptor, admin, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    users = (const Metodnet__ListUsersResponse *)r.response;
    assert_int_equal(users->n_items, 1);
    assert_string_equal(users->items[0]->login, "teacher.s1");
    stack_call_result_free(&r);
    /* the teacher reads itself but not the methodologist's record */
    Metodnet__GetRequest get = METODNET__GET_REQUEST__INIT;
    get.id = metod->user_id;
    r = stack_fixture_call(f, "auth", "GetUser", &get.base, &metodnet__user__descriptor, teacher_p, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND);
    /* the school admin can disable its teacher; the teacher cannot disable anyone */
    Metodnet__SetUserDisabledRequest dis = METODNET__SET_USER_DISABLED_REQUEST__INIT;
    dis.id = school->user_id;
    dis.disabled = true;
    r = stack_fixture_call(f, "auth", "SetUserDisabled", &dis.base, &metodnet__user__descriptor, teacher_p, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND); /* it cannot even see it */
    dis.id = teacher_p->user_id;                                            /* nor disable itself (same rank) */
    r = stack_fixture_call(f, "auth", "SetUserDisabled", &dis.base, &metodnet__user__descriptor, teacher_p, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);
    r = stack_fixture_call(f, "auth", "SetUserDisabled", &dis.base, &metodnet__user__descriptor, school, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    stack_call_result_free(&r);
    /* the methodologist of another municipality would not see the teacher at all */

    metodnet__principal__free_unpacked(admin, NULL);
    metodnet__principal__free_unpacked(metod, NULL);
    metodnet__principal__free_unpacked(school, NULL);
    metodnet__principal__free_unpacked(teacher_p, NULL);
}

/* Issue 17: a user or key of a scope enclosing the caller's is not the caller's to see: every read and
 * action answers exactly as for an id that does not exist. */
static void test_users_and_keys_above_are_not_found(void **state)
{
    stack_fixture *f = *state;
    Metodnet__Principal *admin = s_principal(f, "admin07", s_admin_password, NULL, 0);
    const char *pw = "Методист-пароль-2";
    const Metodnet__StatusCode ok = METODNET__STATUS_CODE__STATUS_CODE_OK,
                               not_found = METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND;
    stack_call_result r = s_create_user(f, admin, "metod.a", pw, METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                                        METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m1");
    assert_int_equal(r.code, ok);
    stack_call_result_free(&r);
    r = s_create_user(f, admin, "metod.b", pw, METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                      METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m1");
    assert_int_equal(r.code, ok);
    char peer[16];
    snprintf(peer, sizeof peer, "%s", ((const Metodnet__User *)r.response)->id);
    stack_call_result_free(&r);
    r = s_create_user(f, admin, "school.a", pw, METODNET__ROLE__ROLE_SCHOOL_ADMIN,
                      METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o1");
    assert_int_equal(r.code, ok);
    stack_call_result_free(&r);
    Metodnet__Principal *metod = s_principal(f, "metod.a", pw, NULL, 0);
    Metodnet__Principal *school = s_principal(f, "school.a", pw, NULL, 0);

    Metodnet__GetRequest get = METODNET__GET_REQUEST__INIT;
    get.id = "u999999";
    stack_call_result missing =
        stack_fixture_call(f, "auth", "GetUser", &get.base, &metodnet__user__descriptor, school, "");
    assert_int_equal(missing.code, not_found);
    const char *above[] = {admin->user_id, metod->user_id, peer};
    for (size_t i = 0; i < 3; i++) {
        get.id = (char *)above[i];
        r = stack_fixture_call(f, "auth", "GetUser", &get.base, &metodnet__user__descriptor, school, "");
        assert_int_equal(r.code, not_found);
        assert_string_equal(r.message, missing.message);
        stack_call_result_free(&r);
    }
    stack_call_result_free(&missing);
    /* a methodologist: not its peer, nor the region administrator; itself, yes */
    get.id = peer;
    r = stack_fixture_call(f, "auth", "GetUser", &get.base, &metodnet__user__descriptor, metod, "");
    assert_int_equal(r.code, not_found);
    get.id = metod->user_id;
    r = stack_fixture_call(f, "auth", "GetUser", &get.base, &metodnet__user__descriptor, metod, "");
    assert_int_equal(r.code, ok);
    stack_call_result_free(&r);
    Metodnet__ResetPasswordRequest reset = METODNET__RESET_PASSWORD_REQUEST__INIT;
    reset.password = "Новый-пароль-длинный";
    reset.id = admin->user_id;
    r = stack_fixture_call(f, "auth", "ResetPassword", &reset.base, &metodnet__user__descriptor, metod, "");
    assert_int_equal(r.code, not_found);
    /* one's own record is seen but not managed here */
    r = stack_fixture_call(f, "auth", "ResetPassword", &reset.base, &metodnet__user__descriptor, admin, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);
    Metodnet__ListUsersRequest list = METODNET__LIST_USERS_REQUEST__INIT;
    r = stack_fixture_call(f, "auth", "ListUsers", &list.base, &metodnet__list_users_response__descriptor, metod, "");
    assert_int_equal(r.code, ok);
    const Metodnet__ListUsersResponse *users = (const Metodnet__ListUsersResponse *)r.response;
    for (size_t i = 0; i < users->n_items; i++)
        assert_string_not_equal(users->items[i]->id, peer);
    stack_call_result_free(&r);

    /* the municipality's own key: only the region administrator sees it */
    Metodnet__ScopeRef scope = METODNET__SCOPE_REF__INIT;
    scope.kind = METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY;
    scope.id = "07-m1";
    Metodnet__CreateApiKeyRequest create = METODNET__CREATE_API_KEY_REQUEST__INIT;
    create.name = "Районная ИС";
    create.scope = &scope;
    r = stack_fixture_call(f, "auth", "CreateApiKey", &create.base, &metodnet__create_api_key_response__descriptor,
                           admin, "");
    assert_int_equal(r.code, ok);
    char key[16];
    snprintf(key, sizeof key, "%s", ((const Metodnet__CreateApiKeyResponse *)r.response)->key->id);
    stack_call_result_free(&r);
    Metodnet__RevokeApiKeyRequest revoke = METODNET__REVOKE_API_KEY_REQUEST__INIT;
    revoke.id = key;
    r = stack_fixture_call(f, "auth", "RevokeApiKey", &revoke.base, &metodnet__api_key__descriptor, metod, "");
    assert_int_equal(r.code, not_found);
    r = stack_fixture_call(f, "auth", "RevokeApiKey", &revoke.base, &metodnet__api_key__descriptor, school, "");
    assert_int_equal(r.code, not_found);
    Metodnet__ListApiKeysRequest keys = METODNET__LIST_API_KEYS_REQUEST__INIT;
    r = stack_fixture_call(f, "auth", "ListApiKeys", &keys.base, &metodnet__list_api_keys_response__descriptor, metod,
                           "");
    assert_int_equal(r.code, ok);
    assert_int_equal(((const Metodnet__ListApiKeysResponse *)r.response)->n_items, 0);
    stack_call_result_free(&r);
    r = stack_fixture_call(f, "auth", "RevokeApiKey", &revoke.base, &metodnet__api_key__descriptor, admin, "");
    assert_int_equal(r.code, ok);
    stack_call_result_free(&r);

    metodnet__principal__free_unpacked(admin, NULL);
    metodnet__principal__free_unpacked(metod, NULL);
    metodnet__principal__free_unpacked(school, NULL);
}

static void test_disable_and_reset_end_sessions(void **state)
{
    stack_fixture *f = *state;
    Metodnet__Principal *admin = s_principal(f, "admin07", s_admin_password, NULL, 0);
    const char *pw = "Учитель-пароль-1";
    stack_call_result r = s_create_user(f, admin, "teacher.one", pw, METODNET__ROLE__ROLE_TEACHER,
                                        METODNET__SCOPE_KIND__SCOPE_KIND_SELF, "07-s1");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    char id[32];
    snprintf(id, sizeof id, "%s", ((Metodnet__User *)r.response)->id);
    stack_call_result_free(&r);
    char token[64], token2[64];
    Metodnet__Principal *teacher = s_principal(f, "teacher.one", pw, token, sizeof token);

    Metodnet__ResetPasswordRequest reset = METODNET__RESET_PASSWORD_REQUEST__INIT;
    reset.id = id;
    reset.password = "Новый-пароль-учителя";
    r = stack_fixture_call(f, "auth", "ResetPassword", &reset.base, &metodnet__user__descriptor, admin, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    stack_call_result_free(&r);
    r = s_authenticate(f, token);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED);
    r = s_login(f, "teacher.one", pw, "192.0.2.20");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED);
    metodnet__principal__free_unpacked(teacher, NULL);
    teacher = s_principal(f, "teacher.one", "Новый-пароль-учителя", token2, sizeof token2);

    Metodnet__SetUserDisabledRequest dis = METODNET__SET_USER_DISABLED_REQUEST__INIT;
    dis.id = id;
    dis.disabled = true;
    r = stack_fixture_call(f, "auth", "SetUserDisabled", &dis.base, &metodnet__user__descriptor, admin, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    assert_true(((Metodnet__User *)r.response)->disabled);
    stack_call_result_free(&r);
    r = s_authenticate(f, token2);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED);
    r = s_login(f, "teacher.one", "Новый-пароль-учителя", "192.0.2.21");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED);
    assert_string_equal(r.message, "Неверный логин или пароль");
    metodnet__principal__free_unpacked(teacher, NULL);
    metodnet__principal__free_unpacked(admin, NULL);
}

static void test_api_key_lifecycle(void **state)
{
    stack_fixture *f = *state;
    Metodnet__Principal *admin = s_principal(f, "admin07", s_admin_password, NULL, 0);
    Metodnet__ScopeRef scope = METODNET__SCOPE_REF__INIT;
    scope.kind = METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION;
    scope.id = "07-o1";
    Metodnet__CreateApiKeyRequest create = METODNET__CREATE_API_KEY_REQUEST__INIT;
    create.name = "Электронный журнал МКОУ СОШ № 1";
    create.scope = &scope;
    stack_call_result r = stack_fixture_call(f, "auth", "CreateApiKey", &create.base,
                                             &metodnet__create_api_key_response__descriptor, admin, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    const Metodnet__CreateApiKeyResponse *created = (const Metodnet__CreateApiKeyResponse *)r.response;
    char secret[64], id[16];
    snprintf(secret, sizeof secret, "%s", created->secret);
    snprintf(id, sizeof id, "%s", created->key->id);
    assert_true(auth_token_valid(secret, AUTH_API_KEY_TOKEN_PREFIX));
    assert_int_equal(strncmp(created->key->prefix, secret, strlen(created->key->prefix)), 0);
    assert_string_equal(created->key->municipality_id, "07-m1");
    stack_call_result_free(&r);
    assert_false(stack_fixture_redis_contains(f, secret)); /* stored hashed only */

    r = s_authenticate(f, secret);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    const Metodnet__AuthenticateResponse *ar = (const Metodnet__AuthenticateResponse *)r.response;
    assert_int_equal(ar->principal->role, METODNET__ROLE__ROLE_SCHOOL_SYSTEM);
    assert_int_equal(ar->principal->scope_kind, METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION);
    assert_string_equal(ar->principal->scope_id, "07-o1");
    assert_true(ar->valid_until_unix_ms <= clock_unix_ms() + 5000);
    Metodnet__Principal *system = (Metodnet__Principal *)pbfield_clone(&ar->principal->base);
    stack_call_result_free(&r);
    /* a key cannot make keys or users */
    r = stack_fixture_call(f, "auth", "CreateApiKey", &create.base, &metodnet__create_api_key_response__descriptor,
                           system, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);
    r = s_create_user(f, system, "via.key", "пароль-длинный-1", METODNET__ROLE__ROLE_TEACHER,
                      METODNET__SCOPE_KIND__SCOPE_KIND_SELF, "07-s1");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);

    Metodnet__ListApiKeysRequest list = METODNET__LIST_API_KEYS_REQUEST__INIT;
    r = stack_fixture_call(f, "auth", "ListApiKeys", &list.base, &metodnet__list_api_keys_response__descriptor, admin,
                           "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    const Metodnet__ListApiKeysResponse *keys = (const Metodnet__ListApiKeysResponse *)r.response;
    assert_int_equal(keys->n_items, 1);
    assert_string_equal(keys->items[0]->id, id);
    assert_true(strlen(keys->items[0]->last_used_at) >= 20); /* the Authenticate above was recorded */
    stack_call_result_free(&r);

    Metodnet__RevokeApiKeyRequest revoke = METODNET__REVOKE_API_KEY_REQUEST__INIT;
    revoke.id = id;
    r = stack_fixture_call(f, "auth", "RevokeApiKey", &revoke.base, &metodnet__api_key__descriptor, admin, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    assert_true(((Metodnet__ApiKey *)r.response)->revoked);
    stack_call_result_free(&r);
    r = s_authenticate(f, secret);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED);
    assert_string_equal(r.message, "Требуется вход в систему");
    metodnet__principal__free_unpacked(system, NULL);
    metodnet__principal__free_unpacked(admin, NULL);
}

static void test_audit_trail(void **state)
{
    stack_fixture *f = *state;
    const char *bad = "неверный-пароль-аудит";
    stack_call_result r = s_login(f, "admin07", bad, "203.0.113.5");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED);
    r = s_login(f, "ghost.user", bad, "203.0.113.5");
    Metodnet__Principal *admin = s_principal(f, "admin07", s_admin_password, NULL, 0);
    const char *pw = "Методист-пароль-2";
    r = s_create_user(f, admin, "metod.audit", pw, METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                      METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m1");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    char metod_id[16];
    snprintf(metod_id, sizeof metod_id, "%s", ((Metodnet__User *)r.response)->id);
    stack_call_result_free(&r);
    Metodnet__GetRequest get = METODNET__GET_REQUEST__INIT;
    get.id = metod_id;
    r = stack_fixture_call(f, "auth", "GetUser", &get.base, &metodnet__user__descriptor, admin, "203.0.113.7");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    stack_call_result_free(&r);

    Metodnet__ListAuditRequest list = METODNET__LIST_AUDIT_REQUEST__INIT;
    r = stack_fixture_call(f, "auth", "ListAudit", &list.base, &metodnet__list_audit_response__descriptor, admin, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    const Metodnet__ListAuditResponse *audit = (const Metodnet__ListAuditResponse *)r.response;
    bool seen_read = false, seen_create = false, seen_login = false, seen_failed = false;
    for (size_t i = 0; i < audit->n_items; i++) {
        const Metodnet__AuditEntry *e = audit->items[i];
        assert_string_equal(e->region_id, "07");
        assert_true(strlen(e->id) > 2 && strlen(e->at) >= 20);
        if (strcmp(e->action, "read") == 0 && strcmp(e->object_id, metod_id) == 0) {
            seen_read = true;
            assert_string_equal(e->user_id, admin->user_id);
            assert_int_equal(e->role, METODNET__ROLE__ROLE_REGION_ADMIN);
            assert_string_equal(e->client_address, "203.0.113.7");
            assert_string_equal(e->request_id, "test");
            assert_string_equal(e->service, "auth");
            assert_true(i == 0); /* newest first */
        }
        seen_create |= strcmp(e->action, "create") == 0 && strcmp(e->object_id, metod_id) == 0;
        seen_login |= strcmp(e->action, "login") == 0 && strcmp(e->user_id, admin->user_id) == 0;
        if (strcmp(e->action, "login_failed") == 0) {
            seen_failed = true;
            assert_string_equal(e->object_id, admin->user_id); /* known login: the user id, never the name */
            assert_string_equal(e->client_address, "203.0.113.5");
        }
    }
    assert_true(seen_read && seen_create && seen_login && seen_failed);
    stack_call_result_free(&r);

    /* filters and paging */
    list.action = "login_failed";
    r = stack_fixture_call(f, "auth", "ListAudit", &list.base, &metodnet__list_audit_response__descriptor,
                           service_client_system_principal(), "");
    audit = (const Metodnet__ListAuditResponse *)r.response;
    assert_int_equal(audit->n_items, 2); /* the unknown login's entry has no region: only the system sees it */
    assert_string_equal(audit->items[0]->object_id, "");
    stack_call_result_free(&r);
    list.action = "";
    list.limit = 1;
    r = stack_fixture_call(f, "auth", "ListAudit", &list.base, &metodnet__list_audit_response__descriptor, admin, "");
    audit = (const Metodnet__ListAuditResponse *)r.response;
    assert_int_equal(audit->n_items, 1);
    assert_string_equal(audit->items[0]->action, "read");
    assert_true(strlen(audit->next_cursor) > 0);
    char cursor[256];
    snprintf(cursor, sizeof cursor, "%s", audit->next_cursor);
    stack_call_result_free(&r);
    list.cursor = cursor;
    r = stack_fixture_call(f, "auth", "ListAudit", &list.base, &metodnet__list_audit_response__descriptor, admin, "");
    audit = (const Metodnet__ListAuditResponse *)r.response;
    assert_int_equal(audit->n_items, 1);
    assert_string_equal(audit->items[0]->action, "create");
    stack_call_result_free(&r);
    list.cursor = "zz";
    r = stack_fixture_call(f, "auth", "ListAudit", &list.base, &metodnet__list_audit_response__descriptor, admin, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT);

    /* only region administrators read the audit */
    Metodnet__Principal *metod = s_principal(f, "metod.audit", pw, NULL, 0);
    list.cursor = "";
    r = stack_fixture_call(f, "auth", "ListAudit", &list.base, &metodnet__list_audit_response__descriptor, metod, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);

    /* no password text anywhere: not in the audit stream, not in any key */
    assert_false(stack_fixture_redis_contains(f, bad));
    assert_false(stack_fixture_redis_contains(f, pw));
    assert_false(stack_fixture_redis_contains(f, s_admin_password));
    assert_false(stack_fixture_redis_contains(f, "ghost.user")); /* unknown login names are not kept */
    metodnet__principal__free_unpacked(metod, NULL);
    metodnet__principal__free_unpacked(admin, NULL);
}

static void test_bootstrap_only_once(void **state)
{
    stack_fixture *f = *state;
    assert_int_equal(s_bootstrap(f, "07", "another.admin", "другой-пароль-123"), AUTH_BOOTSTRAP_EXISTS);
    assert_int_equal(s_bootstrap(f, "26", "admin07", "другой-пароль-123"), AUTH_BOOTSTRAP_LOGIN_TAKEN);
    assert_int_equal(s_bootstrap(f, "26", "admin26", "другой-пароль-123"), AUTH_BOOTSTRAP_CREATED);
    assert_non_null(auth_bootstrap_check("7", "admin", "Имя", "пароль-длинный"));
    assert_non_null(auth_bootstrap_check("07", "a", "Имя", "пароль-длинный"));
    assert_non_null(auth_bootstrap_check("07", "admin", "Имя", "короткий"));
    assert_null(auth_bootstrap_check("07", "admin", "Имя", "пароль-длинный"));
    stack_call_result r = s_login(f, "admin26", "другой-пароль-123", "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    stack_call_result_free(&r);
}

/* Short session lifetimes through the options: idle 300 ms, absolute 1200 ms. */
static int s_setup_short_sessions(void **state)
{
    auth_options options;
    auth_options_default(&options);
    options.session_idle_ms = 300;
    options.session_absolute_ms = 1200;
    stack_fixture *f = s_fixture_new(&options);
    assert_int_equal(s_bootstrap(f, "07", "admin07", s_admin_password), AUTH_BOOTSTRAP_CREATED);
    *state = f;
    return 0;
}

static void test_session_idle_and_absolute_expiry(void **state)
{
    stack_fixture *f = *state;
    char token[64];
    stack_call_result r = s_login(f, "admin07", s_admin_password, "192.0.2.30");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    snprintf(token, sizeof token, "%s", ((Metodnet__LoginResponse *)r.response)->token);
    stack_call_result_free(&r);
    /* idle: unused for longer than 300 ms ends the session */
    stack_fixture_run_for(f, 450);
    r = s_authenticate(f, token);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED);

    /* use refreshes the idle deadline, but not beyond the absolute 1200 ms */
    r = s_login(f, "admin07", s_admin_password, "192.0.2.30");
    int64_t created = clock_unix_ms(); /* the session was made before this */
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    snprintf(token, sizeof token, "%s", ((Metodnet__LoginResponse *)r.response)->token);
    stack_call_result_free(&r);
    for (int i = 0; i < 3; i++) {
        stack_fixture_run_for(f, 200);
        r = s_authenticate(f, token);
        assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
        const Metodnet__AuthenticateResponse *ar = (const Metodnet__AuthenticateResponse *)r.response;
        assert_true(ar->valid_until_unix_ms <= clock_unix_ms() + 300); /* never past the idle deadline */
        stack_call_result_free(&r);
    }
    stack_fixture_run_for(f, 200);
    r = s_authenticate(f, token);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK); /* ~800 ms: still inside */
    const Metodnet__AuthenticateResponse *ar = (const Metodnet__AuthenticateResponse *)r.response;
    assert_true(ar->valid_until_unix_ms <= created + 1200); /* capped by the absolute end */
    stack_call_result_free(&r);
    stack_fixture_run_for(f, 500);
    r = s_authenticate(f, token); /* used within the idle time, but past 1200 ms since login */
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_login_authenticate_me_logout, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_password_and_unknown_login_answer_alike, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sixth_failure_is_refused_with_retry_after, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_argon2id_parameters, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_rank_and_scope_rules, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_users_and_keys_above_are_not_found, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_disable_and_reset_end_sessions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_api_key_lifecycle, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_audit_trail, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bootstrap_only_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_session_idle_and_absolute_expiry, s_setup_short_sessions, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
