/* test_auth_fixture — what the auth service tests stand on: a private redis-server, an in-process
 * MDP broker, the real registry and auth services registered with it on one libuv loop, and a
 * service_client to call them as any principal. Header-only, included by test_auth_*.c. */
#ifndef METODNET_TEST_AUTH_FIXTURE_H
#define METODNET_TEST_AUTH_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <zmq.h>

#include "auth.h"
#include "auth.pb-c.h"
#include "config.h"
#include "mdp_broker.h"
#include "pbfield.h"
#include "redis_link.h"
#include "redis_test_server.h"
#include "registry.h"
#include "registry.pb-c.h"
#include "service_client.h"

typedef struct {
    redis_test_server redis;
    uv_loop_t loop;
    void *zmq;
    char endpoint[256];
    mdp_broker *broker;
    redis_link *link;          /* the auth service's, as Redis user "auth" */
    redis_link *registry_link; /* the registry's, as Redis user "registry" */
    registry *reg;
    auth *service;
    service_client *client;
    config cfg;
    int stopped;
} auth_fixture;

typedef struct {
    bool done;
    Metodnet__StatusCode code;
    int32_t retry_after;
    char message[256];
    char field[64];             /* first violation's field */
    ProtobufCMessage *response; /* owned; NULL unless OK */
} call_result;

static const mdp_heartbeat s_test_heartbeat = {100, 3};

static void s_fixture_run_ms(auth_fixture *f, uint64_t ms)
{
    uint64_t until = uv_now(&f->loop) + ms;
    while (uv_now(&f->loop) < until) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        redis_test_sleep_ms(2);
        uv_update_time(&f->loop);
    }
}

static auth_fixture *auth_fixture_new(const auth_options *options)
{
    auth_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->redis.service_acl = true; /* each service writes under its production ACL user */
    assert_int_equal(redis_test_server_start(&f->redis), 0);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->zmq = zmq_ctx_new();
    snprintf(f->endpoint, sizeof f->endpoint, "ipc://%s/broker", f->redis.dir);
    f->broker = mdp_broker_new(&f->loop, f->zmq, f->endpoint, s_test_heartbeat);
    assert_non_null(f->broker);
    redis_link_options ro;
    char password[96];
    redis_test_link_as(&f->redis, "auth", password, sizeof password, &ro);
    f->link = redis_link_new(&f->loop, &ro);
    assert_non_null(f->link);
    redis_test_link_as(&f->redis, "registry", password, sizeof password, &ro);
    f->registry_link = redis_link_new(&f->loop, &ro);
    assert_non_null(f->registry_link);
    memset(&f->cfg, 0, sizeof f->cfg);
    f->cfg.service_name = "test";
    f->cfg.broker_endpoint = f->endpoint;
    f->cfg.concurrency = 4;
    f->cfg.heartbeat = s_test_heartbeat;
    f->cfg.request_timeout_ms = 5000;
    f->reg = registry_new(&f->loop, f->zmq, &f->cfg, f->registry_link);
    assert_non_null(f->reg);
    f->service = auth_new(&f->loop, f->zmq, &f->cfg, f->link, options);
    assert_non_null(f->service);
    f->client = service_client_new(&f->loop, f->zmq, f->endpoint);
    assert_non_null(f->client);
    /* let the workers register */
    for (int i = 0; i < 500 && (mdp_broker_worker_count(f->broker, "auth") == 0 ||
                                mdp_broker_worker_count(f->broker, "registry") == 0);
         i++)
        s_fixture_run_ms(f, 10);
    assert_true(mdp_broker_worker_count(f->broker, "auth") > 0);
    return f;
}

static void s_fixture_stopped(void *ud)
{
    ((auth_fixture *)ud)->stopped++;
}

static void auth_fixture_destroy(auth_fixture *f)
{
    service_client_destroy(&f->client);
    auth_shutdown(f->service, s_fixture_stopped, f);
    registry_shutdown(f->reg, s_fixture_stopped, f);
    for (int i = 0; i < 1000 && f->stopped < 2; i++)
        s_fixture_run_ms(f, 5);
    assert_int_equal(f->stopped, 2);
    mdp_broker_destroy(&f->broker);
    redis_link_close(&f->link);
    redis_link_close(&f->registry_link);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    zmq_ctx_term(f->zmq);
    char path[300];
    snprintf(path, sizeof path, "%s/broker", f->redis.dir);
    unlink(path);
    redis_test_server_destroy(&f->redis);
    free(f);
}

static void s_called(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    call_result *r = ud;
    r->done = true;
    r->code = status->code;
    r->retry_after = status->retry_after_seconds;
    snprintf(r->message, sizeof r->message, "%s", status->message ? status->message : "");
    if (status->n_violations > 0)
        snprintf(r->field, sizeof r->field, "%s", status->violations[0]->field);
    r->response = response ? pbfield_clone(response) : NULL;
}

/* Calls service.method as caller from address and runs the loop until the answer. */
static call_result auth_call(auth_fixture *f, const char *service, const char *method, const ProtobufCMessage *request,
                             const ProtobufCMessageDescriptor *response, const Metodnet__Principal *caller,
                             const char *address)
{
    call_result r = {0};
    service_client_request req = {
        .service = service,
        .method = method,
        .request = request,
        .response = response,
        .caller = caller,
        .request_id = "test",
        .client_address = address,
        .timeout_ms = 10000,
    };
    assert_int_equal(service_client_call(f->client, &req, s_called, &r), 0);
    while (!r.done)
        uv_run(&f->loop, UV_RUN_ONCE);
    return r;
}

static void call_result_free(call_result *r)
{
    if (r->response)
        protobuf_c_message_free_unpacked(r->response, NULL);
    r->response = NULL;
}

/* ---------- registry data: region 07, municipalities 07-m1 and 07-m2, organizations 07-o1 (in m1)
 * and 07-o2 (in m2), staff 07-s1 (in o1) and 07-s2 (in o2) ---------- */

static void s_registry_create(auth_fixture *f, const char *method, const ProtobufCMessage *request,
                              const ProtobufCMessageDescriptor *response, const char *expect_id)
{
    call_result r = auth_call(f, "registry", method, request, response, service_client_system_principal(), "");
    if (r.code != METODNET__STATUS_CODE__STATUS_CODE_OK)
        fail_msg("%s: %d %s (%s)", method, r.code, r.message, r.field);
    assert_string_equal(pbfield_string(r.response, "id"), expect_id);
    call_result_free(&r);
}

static void auth_fixture_registry(auth_fixture *f)
{
    Metodnet__Region region = METODNET__REGION__INIT;
    region.id = "07";
    region.name = "Кабардино-Балкарская Республика";
    Metodnet__CreateRegionRequest cr = METODNET__CREATE_REGION_REQUEST__INIT;
    cr.region = &region;
    s_registry_create(f, "CreateRegion", &cr.base, &metodnet__region__descriptor, "07");
    const char *municipalities[] = {"Терский район", "Баксанский район"};
    for (int i = 0; i < 2; i++) {
        Metodnet__Municipality m = METODNET__MUNICIPALITY__INIT;
        m.region_id = "07";
        m.name = (char *)municipalities[i];
        m.kind = METODNET__MUNICIPALITY_KIND__MUNICIPALITY_KIND_DISTRICT;
        Metodnet__CreateMunicipalityRequest cm = METODNET__CREATE_MUNICIPALITY_REQUEST__INIT;
        cm.municipality = &m;
        char id[16];
        snprintf(id, sizeof id, "07-m%d", i + 1);
        s_registry_create(f, "CreateMunicipality", &cm.base, &metodnet__municipality__descriptor, id);
    }
    for (int i = 0; i < 2; i++) {
        Metodnet__Organization o = METODNET__ORGANIZATION__INIT;
        char mun[16], id[16];
        snprintf(mun, sizeof mun, "07-m%d", i + 1);
        snprintf(id, sizeof id, "07-o%d", i + 1);
        o.municipality_id = mun;
        o.name = i == 0 ? "МКОУ СОШ № 1 г.п. Терек" : "МКОУ СОШ № 2 г. Баксан";
        o.kind = METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_SCHOOL;
        Metodnet__CreateOrganizationRequest co = METODNET__CREATE_ORGANIZATION_REQUEST__INIT;
        co.organization = &o;
        s_registry_create(f, "CreateOrganization", &co.base, &metodnet__organization__descriptor, id);
    }
    for (int i = 0; i < 2; i++) {
        Metodnet__StaffMember s = METODNET__STAFF_MEMBER__INIT;
        char org[16], id[16];
        snprintf(org, sizeof org, "07-o%d", i + 1);
        snprintf(id, sizeof id, "07-s%d", i + 1);
        char *orgs[] = {org};
        s.last_name = "Кодзоков";
        s.first_name = "Аслан";
        s.birth_date = "1985-04-12";
        s.position = METODNET__POSITION__POSITION_TEACHER;
        s.category = METODNET__STAFF_CATEGORY__STAFF_CATEGORY_TEACHER;
        s.organization_ids = orgs;
        s.n_organization_ids = 1;
        Metodnet__CreateStaffRequest cs = METODNET__CREATE_STAFF_REQUEST__INIT;
        cs.staff = &s;
        s_registry_create(f, "CreateStaff", &cs.base, &metodnet__staff_member__descriptor, id);
    }
}

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

static auth_bootstrap_result auth_fixture_bootstrap(auth_fixture *f, const char *region, const char *login,
                                                    const char *password)
{
    bootstrap_result r = {0};
    assert_int_equal(
        auth_bootstrap_admin(&f->loop, f->link, region, login, "Администратор", password, s_bootstrapped, &r), 0);
    while (!r.done)
        uv_run(&f->loop, UV_RUN_ONCE);
    return r.result;
}

static call_result auth_login(auth_fixture *f, const char *login, const char *password, const char *address)
{
    Metodnet__LoginRequest req = METODNET__LOGIN_REQUEST__INIT;
    req.login = (char *)login;
    req.password = (char *)password;
    return auth_call(f, "auth", "Login", &req.base, &metodnet__login_response__descriptor,
                     service_client_system_principal(), address);
}

static call_result auth_authenticate(auth_fixture *f, const char *token)
{
    Metodnet__AuthenticateRequest req = METODNET__AUTHENTICATE_REQUEST__INIT;
    req.token = (char *)token;
    return auth_call(f, "auth", "Authenticate", &req.base, &metodnet__authenticate_response__descriptor,
                     service_client_system_principal(), "");
}

/* Logs in and authenticates: the principal the gateway would put into envelopes (caller frees). */
static Metodnet__Principal *auth_principal(auth_fixture *f, const char *login, const char *password, char *token,
                                           size_t token_size)
{
    call_result r = auth_login(f, login, password, "192.0.2.10");
    if (r.code != METODNET__STATUS_CODE__STATUS_CODE_OK)
        fail_msg("login %s: %d %s", login, r.code, r.message);
    const Metodnet__LoginResponse *login_response = (const Metodnet__LoginResponse *)r.response;
    char local[64];
    if (token == NULL) {
        token = local;
        token_size = sizeof local;
    }
    snprintf(token, token_size, "%s", login_response->token);
    call_result_free(&r);
    r = auth_authenticate(f, token);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_OK);
    Metodnet__AuthenticateResponse *ar = (Metodnet__AuthenticateResponse *)r.response;
    Metodnet__Principal *p = (Metodnet__Principal *)pbfield_clone(&ar->principal->base);
    call_result_free(&r);
    return p;
}

static call_result auth_create_user(auth_fixture *f, const Metodnet__Principal *caller, const char *login,
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
    return auth_call(f, "auth", "CreateUser", &req.base, &metodnet__user__descriptor, caller, "192.0.2.10");
}

static bool s_bytes_contain(const char *hay, size_t hay_len, const char *needle, size_t needle_len)
{
    for (size_t i = 0; needle_len <= hay_len && i <= hay_len - needle_len; i++)
        if (memcmp(hay + i, needle, needle_len) == 0)
            return true;
    return false;
}

/* True when text occurs in any value of any key in Redis (strings, hashes, sets, zsets, streams). */
static bool auth_fixture_redis_contains(auth_fixture *f, const char *text)
{
    redisContext *c = redisConnectUnix(f->redis.socket_path);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    redisReply *keys = redisCommand(c, "KEYS *");
    assert_non_null(keys);
    bool found = false;
    size_t text_len = strlen(text);
    for (size_t i = 0; i < keys->elements && !found; i++) {
        const char *key = keys->element[i]->str;
        if (s_bytes_contain(key, keys->element[i]->len, text, text_len))
            found = true;
        redisReply *type = redisCommand(c, "TYPE %s", key);
        redisReply *all = NULL;
        if (strcmp(type->str, "string") == 0)
            all = redisCommand(c, "GET %s", key);
        else if (strcmp(type->str, "hash") == 0)
            all = redisCommand(c, "HGETALL %s", key);
        else if (strcmp(type->str, "set") == 0)
            all = redisCommand(c, "SMEMBERS %s", key);
        else if (strcmp(type->str, "zset") == 0)
            all = redisCommand(c, "ZRANGE %s 0 -1", key);
        else if (strcmp(type->str, "stream") == 0)
            all = redisCommand(c, "XRANGE %s - +", key);
        /* walk the reply tree */
        redisReply *stack[4096];
        size_t n = 0;
        if (all)
            stack[n++] = all;
        while (n > 0 && !found) {
            redisReply *r = stack[--n];
            if (r->type == REDIS_REPLY_STRING && s_bytes_contain(r->str, r->len, text, text_len))
                found = true;
            if (r->type == REDIS_REPLY_ARRAY)
                for (size_t j = 0; j < r->elements && n < 4096; j++)
                    stack[n++] = r->element[j];
        }
        if (all)
            freeReplyObject(all);
        freeReplyObject(type);
    }
    freeReplyObject(keys);
    redisFree(c);
    return found;
}

/* A synchronous command to the test Redis (caller frees the reply). */
static redisReply *auth_fixture_redis(auth_fixture *f, const char *format, ...)
{
    redisContext *c = redisConnectUnix(f->redis.socket_path);
    assert_non_null(c);
    va_list ap;
    va_start(ap, format);
    redisReply *r = redisvCommand(c, format, ap);
    va_end(ap);
    redisFree(c);
    assert_non_null(r);
    return r;
}

#endif
