/* test_gateway_console — the gateway's pieces of the web console: the browser session's cookie (parsing
 * the Cookie header, the Set-Cookie that starts and ends a session, which methods need X-Metodnet-CSRF)
 * and loading the console's files (static.c). Serving over HTTP is tested end to end in
 * tests/integration/test_console.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "static.h"

static void s_cookie_is(const char *header, const char *want)
{
    const char *token = NULL;
    size_t len = 0;
    int rc = gateway_auth_cookie(header, header ? strlen(header) : 0, &token, &len);
    if (want == NULL) {
        assert_int_equal(rc, -1);
        return;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(token, want, len);
}

static void test_cookie_header(void **state)
{
    (void)state;
    s_cookie_is("metodnet_session=abc123", "abc123");
    s_cookie_is("theme=dark; metodnet_session=a.b-c_d; lang=ru", "a.b-c_d");
    s_cookie_is("  metodnet_session=tok  ;x=1", "tok");
    s_cookie_is("xmetodnet_session=tok", NULL); /* another cookie's name ending alike */
    s_cookie_is("metodnet_session=", NULL);     /* cleared by logout */
    s_cookie_is("metodnet_session=a b", NULL);  /* outside the token alphabet */
    s_cookie_is("metodnet_session=a\"b", NULL);
    s_cookie_is("theme=dark", NULL);
    s_cookie_is("", NULL);
    s_cookie_is(NULL, NULL);
    char big[400];
    memset(big, 'a', sizeof big);
    memcpy(big, "metodnet_session=", 17);
    big[sizeof big - 1] = '\0';
    s_cookie_is(big, NULL); /* longer than any token */
}

static void test_set_cookie(void **state)
{
    (void)state;
    char out[256];
    size_t n = gateway_auth_set_cookie(out, sizeof out, "tok123", 6);
    assert_true(n > 0);
    assert_string_equal(out, "metodnet_session=tok123; Path=/; Max-Age=28800; HttpOnly; SameSite=Strict");
    n = gateway_auth_set_cookie(out, sizeof out, NULL, 0);
    assert_true(n > 0);
    assert_string_equal(out, "metodnet_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    assert_int_equal(gateway_auth_set_cookie(out, 10, "tok123", 6), 0); /* does not fit */
}

static void test_safe_methods(void **state)
{
    (void)state;
    assert_true(gateway_auth_method_is_safe("GET", 3));
    assert_true(gateway_auth_method_is_safe("HEAD", 4));
    assert_true(gateway_auth_method_is_safe("OPTIONS", 7));
    assert_false(gateway_auth_method_is_safe("POST", 4));
    assert_false(gateway_auth_method_is_safe("PATCH", 5));
    assert_false(gateway_auth_method_is_safe("DELETE", 6));
    assert_false(gateway_auth_method_is_safe("get", 3)); /* methods are case-sensitive */
}

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_static_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/metodnet-static-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    gateway_static *s = gateway_static_new(dir);
    assert_non_null(s);
    assert_int_equal(gateway_static_count(s), 0); /* no index.html: not built */
    gateway_static_destroy(&s);
    assert_null(s);

    snprintf(path, sizeof path, "%s/index.html", dir);
    s_write(path, "<!doctype html><div id=\"app\"></div>");
    snprintf(path, sizeof path, "%s/assets", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/assets/app-1.js", dir);
    s_write(path, "console.log(1)");
    snprintf(path, sizeof path, "%s/.hidden", dir);
    s_write(path, "x");
    s = gateway_static_new(dir);
    assert_int_equal(gateway_static_count(s), 2); /* hidden files are not served */
    gateway_static_destroy(&s);

    s = gateway_static_new(NULL);
    assert_non_null(s);
    assert_int_equal(gateway_static_count(s), 0);
    gateway_static_destroy(&s);
    assert_null(strstr(gateway_static_csp, "unsafe"));

    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    assert_int_equal(system(path), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_header),
        cmocka_unit_test(test_set_cookie),
        cmocka_unit_test(test_safe_methods),
        cmocka_unit_test(test_static_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
