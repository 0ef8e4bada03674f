/* test_auth_model — the auth service's rules without I/O: login and password policy, ranks and
 * role ↔ scope kinds, territory of users, token format and hashing, the rate limit's growing delay,
 * and Argon2id hashing on the threadpool with its parameters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "auth_model.h"
#include "auth_password.h"

static void test_login_policy(void **state)
{
    (void)state;
    char out[AUTH_LOGIN_MAX + 1];
    assert_true(auth_login_normalize("Ivan.Petrov-07_x", out, sizeof out));
    assert_string_equal(out, "ivan.petrov-07_x");
    assert_false(auth_login_normalize("ab", out, sizeof out));
    assert_true(auth_login_normalize("abc", out, sizeof out));
    char long_login[80];
    memset(long_login, 'a', 65);
    long_login[65] = '\0';
    assert_false(auth_login_normalize(long_login, out, sizeof out));
    long_login[64] = '\0';
    assert_true(auth_login_normalize(long_login, out, sizeof out));
    assert_false(auth_login_normalize("иван", out, sizeof out));
    assert_false(auth_login_normalize("a b c", out, sizeof out));
    assert_false(auth_login_normalize("a:b:c", out, sizeof out)); /* never a key separator */
}

static size_t s_violations(const char *password)
{
    validation v;
    validation_init(&v);
    auth_validate_password(&v, "password", password);
    size_t n = v.n;
    validation_free(&v);
    return n;
}

static void test_password_policy(void **state)
{
    (void)state;
    assert_int_equal(s_violations(""), 1);
    assert_int_equal(s_violations("123456789"), 1);  /* 9 */
    assert_int_equal(s_violations("1234567890"), 0); /* 10 */
    assert_int_equal(s_violations("пароль-123"), 0); /* 10 characters, 16 bytes */
    assert_int_equal(s_violations("пароль123"), 1);  /* 9 characters, 15 bytes */
    char p[200];
    memset(p, 'x', 128);
    p[128] = '\0';
    assert_int_equal(s_violations(p), 0);
    p[128] = 'x';
    p[129] = '\0';
    assert_int_equal(s_violations(p), 1);
    assert_int_equal(s_violations("\xff\xfe invalid utf8"), 1);
}

static void test_ranks_and_scope_kinds(void **state)
{
    (void)state;
    Metodnet__Principal metod = METODNET__PRINCIPAL__INIT;
    metod.role = METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST;
    assert_false(auth_may_manage_role(&metod, METODNET__ROLE__ROLE_REGION_ADMIN));
    assert_false(auth_may_manage_role(&metod, METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST));
    assert_true(auth_may_manage_role(&metod, METODNET__ROLE__ROLE_SCHOOL_ADMIN));
    assert_true(auth_may_manage_role(&metod, METODNET__ROLE__ROLE_TEACHER));
    assert_false(auth_may_manage_role(&metod, METODNET__ROLE__ROLE_SYSTEM));
    Metodnet__Principal key = METODNET__PRINCIPAL__INIT;
    key.role = METODNET__ROLE__ROLE_SCHOOL_SYSTEM;
    assert_false(auth_may_manage_role(&key, METODNET__ROLE__ROLE_TEACHER));
    Metodnet__Principal system = METODNET__PRINCIPAL__INIT;
    system.role = METODNET__ROLE__ROLE_SYSTEM;
    system.scope_kind = METODNET__SCOPE_KIND__SCOPE_KIND_ALL;
    assert_true(auth_may_manage_role(&system, METODNET__ROLE__ROLE_REGION_ADMIN));
    assert_int_equal(auth_role_scope_kind(METODNET__ROLE__ROLE_REGION_ADMIN), METODNET__SCOPE_KIND__SCOPE_KIND_REGION);
    assert_int_equal(auth_role_scope_kind(METODNET__ROLE__ROLE_TEACHER), METODNET__SCOPE_KIND__SCOPE_KIND_SELF);
    assert_int_equal(auth_role_scope_kind(METODNET__ROLE__ROLE_SCHOOL_SYSTEM),
                     METODNET__SCOPE_KIND__SCOPE_KIND_UNSPECIFIED);
}

static void test_teacher_territory_and_layout(void **state)
{
    (void)state;
    Metodnet__ScopeRef scope = METODNET__SCOPE_REF__INIT;
    scope.kind = METODNET__SCOPE_KIND__SCOPE_KIND_SELF;
    scope.id = "07-s5";
    char *orgs[] = {"07-o3"};
    Metodnet__User user = METODNET__USER__INIT;
    user.id = "u12";
    user.login = "teacher.one";
    user.role = METODNET__ROLE__ROLE_TEACHER;
    user.scope = &scope;
    user.staff_id = "07-s5";
    user.region_id = "07";
    user.municipality_id = "07-m1";
    user.organization_ids = orgs;
    user.n_organization_ids = 1;
    auth_territory t;
    auth_user_territory(&user, &t);
    Metodnet__Principal school = METODNET__PRINCIPAL__INIT;
    school.role = METODNET__ROLE__ROLE_SCHOOL_ADMIN;
    school.scope_kind = METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION;
    school.scope_id = "07-o3";
    school.region_id = "07";
    school.municipality_id = "07-m1";
    assert_true(scope_allows(&school, &t.object, SCOPE_WRITE));
    school.scope_id = "07-o4";
    assert_false(scope_allows(&school, &t.object, SCOPE_READ));
    Metodnet__Principal self = METODNET__PRINCIPAL__INIT;
    self.role = METODNET__ROLE__ROLE_TEACHER;
    self.scope_kind = METODNET__SCOPE_KIND__SCOPE_KIND_SELF;
    self.scope_id = "07-s5";
    self.region_id = "07";
    assert_true(scope_allows(&self, &t.object, SCOPE_READ));

    auth_layout layout;
    entity_layout_init(&layout);
    auth_user_layout(&user, &layout);
    assert_string_equal(layout.attributes, "|id:u12|role:teacher|reg:07|mun:07-m1|org:07-o3|staff:07-s5|dis:false|");
    bool login_key = false, org_index = false, admin_index = false;
    for (size_t i = 0; i < layout.n_indexes; i++) {

        org_index |= strcmp(layout.indexes[i].key, "auth:{g}:ix:users:o:07-o3") == 0 &&
                     strcmp(layout.indexes[i].member, "teacher.one\x1fu12") == 0;
        admin_index |= strncmp(layout.indexes[i].key, "auth:{g}:ix:region-admin:", 25) == 0;
    }
    /* the login is a claim: unique, and how a login finds its user */
    login_key = layout.n_claims == 1 && strcmp(layout.claims[0].key, "auth:{g}:claim:user:login") == 0 &&
                strcmp(layout.claims[0].value, "teacher.one") == 0;
    assert_true(login_key && org_index);
    assert_false(admin_index);
    entity_layout_clear(&layout);
}

static void test_tokens(void **state)
{
    (void)state;
    char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_HEX];
    auth_token_new(AUTH_SESSION_TOKEN_PREFIX, a, sizeof a);
    auth_token_new(AUTH_SESSION_TOKEN_PREFIX, b, sizeof b);
    assert_int_equal(strlen(a), 36);
    assert_true(auth_token_valid(a, AUTH_SESSION_TOKEN_PREFIX));
    assert_false(auth_token_valid(a, AUTH_API_KEY_TOKEN_PREFIX));
    assert_string_not_equal(a, b);
    assert_false(auth_token_valid("mns_0123456789abcdef0123456789ABCDEF", AUTH_SESSION_TOKEN_PREFIX));
    assert_false(auth_token_valid("mns_0123456789abcdef0123456789abcde", AUTH_SESSION_TOKEN_PREFIX));
    auth_token_hash("abc", hash, sizeof hash);
    assert_string_equal(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"); /* FIPS 180-2 */
}

static void test_rate_delay_grows(void **state)
{
    (void)state;
    const int64_t cap = 15 * 60 * 1000, now = 1000000;
    assert_int_equal(auth_rate_wait_ms(4, now, now, 5, cap), 0);
    assert_int_equal(auth_rate_wait_ms(5, now, now, 5, cap), 1000);
    assert_int_equal(auth_rate_wait_ms(6, now, now, 5, cap), 2000);
    assert_int_equal(auth_rate_wait_ms(8, now - 3000, now, 5, cap), 5000);
    assert_int_equal(auth_rate_wait_ms(5, now - 1000, now, 5, cap), 0);
    assert_int_equal(auth_rate_wait_ms(20, now, now, 5, cap), cap);
    assert_int_equal(auth_rate_wait_ms(200, now, now, 5, cap), cap);
}

typedef struct {
    bool done;
    bool ok;
    char hash[AUTH_PASSWORD_HASH_MAX];
} job_result;

static void s_hashed(const char *hash, void *ud)
{
    job_result *r = ud;
    r->done = true;
    r->ok = hash != NULL;
    snprintf(r->hash, sizeof r->hash, "%s", hash ? hash : "");
}

static void s_verified(bool ok, void *ud)
{
    job_result *r = ud;
    r->done = true;
    r->ok = ok;
}

static void test_argon2id_on_the_threadpool(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    job_result r = {0};
    assert_int_equal(auth_password_hash(&loop, "пароль-для-проверки", s_hashed, &r), 0);
    assert_false(r.done); /* never from inside the call */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(r.done && r.ok);
    unsigned long m = 0, t = 0, p = 0;
    assert_int_equal(strncmp(r.hash, "$argon2id$v=19$", 15), 0);
    assert_int_equal(sscanf(r.hash + 15, "m=%lu,t=%lu,p=%lu$", &m, &t, &p), 3);
    assert_true(m >= 19456 && t >= 2);
    char hash[AUTH_PASSWORD_HASH_MAX];
    snprintf(hash, sizeof hash, "%s", r.hash);

    memset(&r, 0, sizeof r);
    assert_int_equal(auth_password_verify(&loop, hash, "пароль-для-проверки", s_verified, &r), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(r.done && r.ok);
    memset(&r, 0, sizeof r);
    assert_int_equal(auth_password_verify(&loop, hash, "пароль-для-проверкИ", s_verified, &r), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(r.done && !r.ok);
    /* unknown login: the dummy hash never matches, corrupt hashes neither */
    memset(&r, 0, sizeof r);
    assert_int_equal(auth_password_verify(&loop, NULL, "", s_verified, &r), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(r.done && !r.ok);
    memset(&r, 0, sizeof r);
    assert_int_equal(auth_password_verify(&loop, "$argon2id$garbage", "x", s_verified, &r), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(r.done && !r.ok);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_policy),
        cmocka_unit_test(test_password_policy),
        cmocka_unit_test(test_ranks_and_scope_kinds),
        cmocka_unit_test(test_teacher_territory_and_layout),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_rate_delay_grows),
        cmocka_unit_test(test_argon2id_on_the_threadpool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
