/* test_broker_auth — the broker's pure decisions (common/broker_auth.h) and its key files
 * (common/curve_keys.h): which ZAP requests are admitted and as whom, which requests a peer may send,
 * the refusal reply, the log rate limit, the clients list and the key files' checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker_auth.h"
#include "curve_keys.h"
#include "envelope.pb-c.h"
#include "request_envelope.h"

static uint8_t *s_envelope(Metodnet__Role role, Metodnet__ScopeKind scope, size_t *len)
{
    Metodnet__Principal caller = METODNET__PRINCIPAL__INIT;
    caller.user_id = (char *)"u";
    caller.role = role;
    caller.scope_kind = scope;
    Metodnet__GetRequest get = METODNET__GET_REQUEST__INIT;
    get.id = (char *)"07-s1";
    request_envelope request = {.method = "GetStaff", .message = &get.base, .caller = &caller, .request_id = "rid-1"};
    uint8_t *body = request_envelope_pack(&request, len);
    assert_non_null(body);
    return body;
}

static void test_zap_decision(void **state)
{
    (void)state;
    uint8_t known[32], other[32], secret[32];
    assert_int_equal(curve_keypair_new(known, secret), 0);
    assert_int_equal(curve_keypair_new(other, secret), 0);
    curve_client_list list = {NULL, 0};
    assert_int_equal(curve_clients_add(&list, CURVE_PEER_SERVICE, "registry", known), 0);
    const curve_client *c = broker_auth_zap_decide(&list, "CURVE", known, 32);
    assert_non_null(c);
    char user_id[BROKER_AUTH_USER_ID_MAX];
    broker_auth_user_id(c, user_id);
    assert_string_equal(user_id, "service:registry");
    assert_null(broker_auth_zap_decide(&list, "CURVE", other, 32)); /* unknown key */
    assert_null(broker_auth_zap_decide(&list, "NULL", known, 32));  /* not Curve */
    assert_null(broker_auth_zap_decide(&list, "CURVE", known, 31)); /* not a key */
    assert_null(broker_auth_zap_decide(&list, NULL, known, 32));
    curve_clients_free(&list);
}

static void test_request_checks(void **state)
{
    (void)state;
    size_t system_len, all_len, admin_len;
    uint8_t *system = s_envelope(METODNET__ROLE__ROLE_SYSTEM, METODNET__SCOPE_KIND__SCOPE_KIND_ALL, &system_len);
    uint8_t *all = s_envelope(METODNET__ROLE__ROLE_REGION_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_ALL, &all_len);
    uint8_t *admin = s_envelope(METODNET__ROLE__ROLE_REGION_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_REGION, &admin_len);
    const uint8_t garbage[] = {0xff, 0xff, 0xff};
    /* a service key may send anything */
    assert_int_equal(broker_auth_check_request("service:auth", system, system_len), BROKER_AUTH_ADMIT);
    assert_int_equal(broker_auth_check_request("service:auth", admin, admin_len), BROKER_AUTH_ADMIT);
    assert_int_equal(broker_auth_check_request("service:auth", garbage, sizeof garbage), BROKER_AUTH_ADMIT);
    /* a gateway key: end users only */
    assert_int_equal(broker_auth_check_request("gateway:gw", system, system_len), BROKER_AUTH_REFUSE_SYSTEM);
    assert_int_equal(broker_auth_check_request("gateway:gw", all, all_len), BROKER_AUTH_REFUSE_SYSTEM);
    assert_int_equal(broker_auth_check_request("gateway:gw", admin, admin_len), BROKER_AUTH_ADMIT);
    assert_int_equal(broker_auth_check_request("gateway:gw", garbage, sizeof garbage), BROKER_AUTH_REFUSE_ENVELOPE);
    /* anyone else: nothing */
    assert_int_equal(broker_auth_check_request("", admin, admin_len), BROKER_AUTH_REFUSE_PEER);
    assert_int_equal(broker_auth_check_request(NULL, admin, admin_len), BROKER_AUTH_REFUSE_PEER);
    assert_int_equal(broker_auth_check_request("service:", system, system_len), BROKER_AUTH_REFUSE_PEER);
    assert_int_equal(broker_auth_check_request("services:x", system, system_len), BROKER_AUTH_REFUSE_PEER);
    /* workers: service keys only */
    assert_true(broker_auth_may_serve("service:registry"));
    assert_false(broker_auth_may_serve("gateway:gw"));
    assert_false(broker_auth_may_serve(""));
    assert_false(broker_auth_may_serve(NULL));

    size_t reply_len = 0;
    uint8_t *packed = broker_auth_refusal(BROKER_AUTH_REFUSE_SYSTEM, system, system_len, &reply_len);
    assert_non_null(packed);
    Metodnet__Reply *reply = metodnet__reply__unpack(NULL, reply_len, packed);
    assert_non_null(reply);
    assert_string_equal(reply->request_id, "rid-1");
    assert_int_equal(reply->status->code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);
    assert_non_null(strstr(reply->status->message, "ROLE_SYSTEM"));
    assert_int_equal(reply->payload.len, 0);
    metodnet__reply__free_unpacked(reply, NULL);
    free(packed);
    packed = broker_auth_refusal(BROKER_AUTH_REFUSE_ENVELOPE, garbage, sizeof garbage, &reply_len);
    reply = metodnet__reply__unpack(NULL, reply_len, packed);
    assert_non_null(reply);
    assert_string_equal(reply->request_id, "");
    assert_int_equal(reply->status->code, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT);
    metodnet__reply__free_unpacked(reply, NULL);
    free(packed);
    free(system);
    free(all);
    free(admin);
}

static void test_log_limit(void **state)
{
    (void)state;
    broker_auth_log_limit limit = {0};
    uint64_t suppressed = 99;
    for (int i = 0; i < BROKER_AUTH_LOG_LINES; i++) {
        assert_true(broker_auth_log_allow(&limit, 1000 + (uint64_t)i, &suppressed));
        assert_int_equal(suppressed, 0);
    }
    for (int i = 0; i < 100; i++) /* a flood inside the window: not logged, counted */
        assert_false(broker_auth_log_allow(&limit, 2000, &suppressed));
    assert_true(broker_auth_log_allow(&limit, 1000 + BROKER_AUTH_LOG_WINDOW_MS, &suppressed));
    assert_int_equal(suppressed, 100); /* the first line of the next window says how many were not */
    assert_true(broker_auth_log_allow(&limit, 1001 + BROKER_AUTH_LOG_WINDOW_MS, &suppressed));
    assert_int_equal(suppressed, 0);
}

static void test_clients_list(void **state)
{
    (void)state;
    uint8_t a[32], b[32], secret[32];
    char za[CURVE_Z85_LEN + 1], zb[CURVE_Z85_LEN + 1];
    assert_int_equal(curve_keypair_new(a, secret), 0);
    assert_int_equal(curve_keypair_new(b, secret), 0);
    curve_key_z85(a, za);
    curve_key_z85(b, zb);
    char text[512];
    snprintf(text, sizeof text, "# comment\n\nservice registry %s\n  gateway gw-1 %s  \n", za, zb);
    curve_client_list list;
    char err[256];
    assert_int_equal(curve_clients_parse(text, &list, err, sizeof err), 0);
    assert_int_equal(list.count, 2);
    assert_int_equal(curve_clients_find(&list, a)->kind, CURVE_PEER_SERVICE);
    assert_string_equal(curve_clients_find(&list, b)->name, "gw-1");
    assert_int_equal(curve_clients_find(&list, b)->kind, CURVE_PEER_GATEWAY);
    curve_clients_free(&list);
    const char *bad[] = {"client x %s\n", "service Registry %s\n", "service registry %s extra\n",
                         "service registry short\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, bad[i], za);
        assert_int_equal(curve_clients_parse(text, &list, err, sizeof err), -1);
        assert_int_equal(list.count, 0);
        assert_non_null(strstr(err, "строка 1"));
    }
    snprintf(text, sizeof text, "service a %s\nservice b %s\n", za, za);
    assert_int_equal(curve_clients_parse(text, &list, err, sizeof err), -1);
    assert_non_null(strstr(err, "строка 2"));
}

static void test_key_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/metodnet-keys-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/x.key", dir);
    uint8_t pub[32], sec[32], pub2[32], sec2[32];
    char err[512];
    assert_int_equal(curve_keypair_new(pub, sec), 0);
    assert_int_equal(curve_key_file_write(path, "служба x", pub, sec, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(curve_key_file_read(path, pub2, sec2, err, sizeof err), 0);
    assert_memory_equal(pub, pub2, 32);
    assert_memory_equal(sec, sec2, 32);
    /* never overwritten */
    assert_int_equal(curve_key_file_write(path, "x", pub, sec, err, sizeof err), -1);
    assert_non_null(strstr(err, "уже есть"));
    /* readable by others: refused */
    chmod(path, 0644);
    assert_int_equal(curve_key_file_read(path, pub2, sec2, err, sizeof err), -1);
    assert_non_null(strstr(err, "0600"));
    /* ...but a public key file may be read by anyone */
    assert_int_equal(curve_key_file_read(path, pub2, NULL, err, sizeof err), 0);
    unlink(path);
    /* a secret that is not the public key's */
    uint8_t other_pub[32], other_sec[32];
    assert_int_equal(curve_keypair_new(other_pub, other_sec), 0);
    assert_int_equal(curve_key_file_write(path, "x", pub, other_sec, err, sizeof err), 0);
    assert_int_equal(curve_key_file_read(path, pub2, sec2, err, sizeof err), -1);
    assert_non_null(strstr(err, "не соответствует"));
    unlink(path);
    /* the keys a service connects with */
    char broker_pub[256];
    snprintf(broker_pub, sizeof broker_pub, "%s/broker.pub", dir);
    assert_int_equal(curve_public_file_write(broker_pub, other_pub, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/registry.key", dir);
    assert_int_equal(curve_key_file_write(path, "служба registry", pub, sec, err, sizeof err), 0);
    mdp_curve_keys keys;
    assert_int_equal(curve_keys_load_client(dir, "registry", &keys, err, sizeof err), 0);
    assert_memory_equal(keys.broker_public, other_pub, 32);
    assert_memory_equal(keys.public_key, pub, 32);
    assert_memory_equal(keys.secret_key, sec, 32);
    assert_int_equal(curve_keys_load_client(dir, "auth", &keys, err, sizeof err), -1);
    assert_non_null(strstr(err, "auth.key"));
    unlink(path);
    unlink(broker_pub);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zap_decision), cmocka_unit_test(test_request_checks), cmocka_unit_test(test_log_limit),
        cmocka_unit_test(test_clients_list), cmocka_unit_test(test_key_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
