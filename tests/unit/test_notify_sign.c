/* test_notify_sign — the Standard Webhooks signature against the spec's vectors
 * (standard-webhooks/standard-webhooks, libraries/test vectors: secret, msg id, timestamp, payload →
 * "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), a fresh secret's shape and round trip, and the
 * address rule for webhook URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "notify_sign.h"

static void test_spec_vector(void **state)
{
    (void)state;
    const char *body = "{\"test\": 2432232314}";
    char sig[NOTIFY_SIGNATURE_MAX];
    assert_int_equal(notify_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                 body, strlen(body), sig, sizeof sig),
                     0);
    assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* the prefix is optional in the spec's libraries; the key is the same */
    char bare[NOTIFY_SIGNATURE_MAX];
    assert_int_equal(notify_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
                                 strlen(body), bare, sizeof bare),
                     0);
    assert_string_equal(bare, sig);
    /* any change of id, timestamp or body changes the signature */
    char other[NOTIFY_SIGNATURE_MAX];
    notify_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body,
                strlen(body), other, sizeof other);
    assert_string_not_equal(other, sig);
    notify_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJel", 1614265330, body,
                strlen(body), other, sizeof other);
    assert_string_not_equal(other, sig);
    notify_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                "{\"test\": 2432232315}", strlen(body), other, sizeof other);
    assert_string_not_equal(other, sig);
}

static void test_bad_secret(void **state)
{
    (void)state;
    char sig[NOTIFY_SIGNATURE_MAX];
    assert_int_equal(notify_sign("whsec_", "m", 1, "", 0, sig, sizeof sig), -1);
    assert_int_equal(notify_sign("whsec_не-base64", "m", 1, "", 0, sig, sizeof sig), -1);
    assert_int_equal(notify_sign(NULL, "m", 1, "", 0, sig, sizeof sig), -1);
}

static void test_new_secret(void **state)
{
    (void)state;
    char a[NOTIFY_SECRET_MAX], b[NOTIFY_SECRET_MAX], sig[NOTIFY_SIGNATURE_MAX];
    notify_secret_new(a, sizeof a);
    notify_secret_new(b, sizeof b);
    assert_int_equal(strncmp(a, "whsec_", 6), 0);
    assert_int_equal(strlen(a), 6 + 32); /* 24 bytes in base64 */
    assert_string_not_equal(a, b);
    assert_int_equal(notify_sign(a, "07-n1", 1764640000, "{}", 2, sig, sizeof sig), 0);
    assert_int_equal(strncmp(sig, "v1,", 3), 0);
    assert_int_equal(strlen(sig), 3 + 44);
}

static bool s_private4(const char *text)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, text, &a.sin_addr), 1);
    return notify_address_private((const struct sockaddr *)&a);
}

static bool s_private6(const char *text)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, text, &a.sin6_addr), 1);
    return notify_address_private((const struct sockaddr *)&a);
}

static void test_addresses(void **state)
{
    (void)state;
    const char *private4[] = {"127.0.0.1",   "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                              "169.254.1.1", "0.0.0.0",  "100.64.0.1", "224.0.0.1",      "255.255.255.255"};
    for (size_t i = 0; i < sizeof private4 / sizeof *private4; i++)
        assert_true(s_private4(private4[i]));
    assert_false(s_private4("8.8.8.8"));
    assert_false(s_private4("172.32.0.1"));
    assert_false(s_private4("95.167.1.1"));
    assert_true(s_private6("::1"));
    assert_true(s_private6("::"));
    assert_true(s_private6("fd00::1"));
    assert_true(s_private6("fe80::1"));
    assert_true(s_private6("::ffff:127.0.0.1"));
    assert_true(s_private6("::ffff:10.0.0.1"));
    assert_false(s_private6("2a00:1450:4010::1"));
}

static void test_urls(void **state)
{
    (void)state;
    assert_true(notify_url_valid("https://school.example.ru/hooks/metodnet", false));
    assert_true(notify_url_valid("http://8.8.8.8:8080/x", false));
    assert_false(notify_url_valid("https://127.0.0.1/x", false));
    assert_false(notify_url_valid("http://[::1]:8080/x", false));
    assert_false(notify_url_valid("http://localhost/x", false));
    assert_true(notify_url_valid("http://127.0.0.1:9000/x", true));
    assert_false(notify_url_valid("ftp://school.example.ru/", true));
    assert_false(notify_url_valid("https://user:pw@school.example.ru/", true));
    assert_false(notify_url_valid("https://school.example.ru/a b", true));
    assert_false(notify_url_valid("https:///nohost", true));
    assert_false(notify_url_valid(NULL, true));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_vector), cmocka_unit_test(test_bad_secret), cmocka_unit_test(test_new_secret),
        cmocka_unit_test(test_addresses),   cmocka_unit_test(test_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
