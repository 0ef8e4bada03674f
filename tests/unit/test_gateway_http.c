/* test_gateway_http — the gateway's HTTP front over real parts: h2o on the loop, the in-process MDP
 * broker and a real redis-server (private unix socket) for Idempotency-Key, both from the shared
 * stack (stack_fixture.h), and MDP workers for "registry" and "auth" whose answers the test scripts
 * (so each reply status can be exercised). A client thread speaks plain HTTP/1.1 over a socket while
 * the loop runs on the main thread. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "auth.pb-c.h"
#include "clock.h"
#include "envelope.pb-c.h"
#include "mdp_worker.h"
#include "registry.pb-c.h"
#include "stack_fixture.h"

/* ---- the scripted registry worker (loop thread) ---- */

static int s_creates;
static int s_authentications;
static int s_logins;
static Metodnet__Envelope *s_last; /* last envelope seen, for assertions */

static void s_reply(mdp_worker_request *req, int code, const char *message, int retry_after,
                    const ProtobufCMessage *payload)
{
    Metodnet__Status status = METODNET__STATUS__INIT;
    Metodnet__Reply reply = METODNET__REPLY__INIT;
    status.code = code;
    status.message = (char *)message;
    status.retry_after_seconds = retry_after;
    reply.status = &status;
    uint8_t pbuf[1024], rbuf[2048];
    if (payload != NULL) {
        reply.payload.len = protobuf_c_message_pack(payload, pbuf);
        reply.payload.data = pbuf;
    }
    size_t len = metodnet__reply__pack(&reply, rbuf);
    mdp_worker_reply(req, rbuf, len);
}

static void s_on_work(mdp_worker *worker, mdp_worker_request *req, const uint8_t *body, size_t len, void *ud)
{
    (void)worker;
    (void)ud;
    Metodnet__Envelope *env = metodnet__envelope__unpack(NULL, len, body);
    if (env == NULL) {
        s_reply(req, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT, "bad envelope", 0, NULL);
        return;
    }
    if (strcmp(env->method, "Authenticate") == 0) {
        /* the scripted auth service: one good token, a region administrator of "24" */
        Metodnet__AuthenticateRequest *a =
            metodnet__authenticate_request__unpack(NULL, env->payload.len, env->payload.data);
        s_authentications++;
        if (a != NULL && strcmp(a->token, "mns_good") == 0 && env->caller &&
            env->caller->role == METODNET__ROLE__ROLE_SYSTEM) {
            Metodnet__Principal p = METODNET__PRINCIPAL__INIT;
            p.user_id = "u1";
            p.role = METODNET__ROLE__ROLE_REGION_ADMIN;
            p.scope_kind = METODNET__SCOPE_KIND__SCOPE_KIND_REGION;
            p.scope_id = "24";
            p.region_id = "24";
            Metodnet__AuthenticateResponse response = METODNET__AUTHENTICATE_RESPONSE__INIT;
            response.principal = &p;
            response.valid_until_unix_ms = clock_unix_ms() + 60000;
            s_reply(req, 0, "", 0, &response.base);
        } else {
            s_reply(req, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED, "Требуется вход в систему", 0, NULL);
        }
        if (a)
            metodnet__authenticate_request__free_unpacked(a, NULL);
        metodnet__envelope__free_unpacked(env, NULL);
        return;
    }
    if (strcmp(env->method, "Login") == 0) {
        s_logins += env->caller && strcmp(env->caller->user_id, "gateway") == 0;
        s_reply(req, METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED, "Неверный логин или пароль", 0, NULL);
        metodnet__envelope__free_unpacked(env, NULL);
        return;
    }
    if (s_last)
        metodnet__envelope__free_unpacked(s_last, NULL);
    s_last = env;
    Metodnet__Region region = METODNET__REGION__INIT;
    if (strcmp(env->method, "CreateRegion") == 0) {
        Metodnet__CreateRegionRequest *r =
            metodnet__create_region_request__unpack(NULL, env->payload.len, env->payload.data);
        s_creates++;
        region.id = r && r->region ? r->region->id : (char *)"";
        region.name = r && r->region ? r->region->name : (char *)"";
        region.version = 1;
        s_reply(req, 0, "", 0, &region.base);
        if (r)
            metodnet__create_region_request__free_unpacked(r, NULL);
    } else if (strcmp(env->method, "GetRegion") == 0) {
        Metodnet__GetRequest *g = metodnet__get_request__unpack(NULL, env->payload.len, env->payload.data);
        if (g == NULL || strcmp(g->id, "77") != 0) {
            s_reply(req, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, "Регион не найден", 0, NULL);
        } else {
            region.id = "77";
            region.name = "Москва";
            region.version = 3;
            s_reply(req, 0, "", 0, &region.base);
        }
        if (g)
            metodnet__get_request__free_unpacked(g, NULL);
    } else if (strcmp(env->method, "ListRegions") == 0) {
        s_reply(req, METODNET__STATUS_CODE__STATUS_CODE_TOO_MANY_REQUESTS, "Слишком часто", 7, NULL);
    } else {
        s_reply(req, METODNET__STATUS_CODE__STATUS_CODE_UNIMPLEMENTED, "Нет такого метода", 0, NULL);
    }
}

/* ---- a blocking HTTP/1.1 client (client thread) ---- */

typedef struct {
    int status;
    char headers[4096];
    char body[8192];
} s_response;

static int s_port;

static int s_http(const char *method, const char *path, const char *extra_headers, const char *body, s_response *out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)s_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    char req[8192];
    int n = body ? snprintf(req, sizeof req,
                            "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s"
                            "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                            method, path, extra_headers ? extra_headers : "", strlen(body), body)
                 : snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s\r\n", method,
                            path, extra_headers ? extra_headers : "");
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    static char buf[65536];
    size_t got = 0;
    ssize_t r;
    while ((r = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)r;
    close(fd);
    buf[got] = '\0';
    memset(out, 0, sizeof *out);
    if (sscanf(buf, "HTTP/1.1 %d", &out->status) != 1)
        return -1;
    char *sep = strstr(buf, "\r\n\r\n");
    if (sep == NULL)
        return -1;
    snprintf(out->headers, sizeof out->headers, "%.*s", (int)(sep - buf), buf);
    for (char *p = out->headers; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32); /* header names and values lowercased */
    snprintf(out->body, sizeof out->body, "%s", sep + 4);
    return 0;
}

static bool s_has_header(const s_response *r, const char *line)
{
    return strstr(r->headers, line) != NULL;
}

#define S_AUTH "Authorization: Bearer mns_good\r\n"

static int s_failures;
#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                                   \
            s_failures++;                                                                                              \
        }                                                                                                              \
    } while (0)

static uv_async_t s_done;

static void *s_client(void *arg)
{
    (void)arg;
    s_response r;
    /* wait for the worker to register */
    for (int i = 0; i < 100; i++) {
        if (s_http("GET", "/readyz", NULL, NULL, &r) == 0 && r.status == 200)
            break;
        redis_test_sleep_ms(50);
    }
    CHECK(r.status == 200);

    /* without a token, or with an unknown one, nothing reaches the registry */
    CHECK(s_http("GET", "/api/v1/regions/77", NULL, NULL, &r) == 0);
    CHECK(r.status == 401);
    CHECK(strstr(r.body, "\"code\":\"unauthenticated\"") != NULL);
    CHECK(s_http("GET", "/api/v1/regions/77", "Authorization: Bearer mns_bad\r\n", NULL, &r) == 0);
    CHECK(r.status == 401);
    CHECK(s_http("GET", "/api/v1/regions/77", "Authorization: Basic YTpi\r\n", NULL, &r) == 0);
    CHECK(r.status == 401);
    /* login is public: it reaches the auth service as the gateway itself */
    CHECK(s_http("POST", "/api/v1/auth/login", NULL, "{\"login\":\"a\",\"password\":\"b\"}", &r) == 0);
    CHECK(r.status == 401);
    CHECK(strstr(r.body, "Неверный логин или пароль") != NULL);

    const char *create = "{\"id\":\"24\",\"name\":\"Красноярский край\"}";
    CHECK(s_http("POST", "/api/v1/regions", S_AUTH "Idempotency-Key: key-1\r\nX-Request-Id: test.rid-1\r\n", create,
                 &r) == 0);
    CHECK(r.status == 201);
    CHECK(s_has_header(&r, "location: /api/v1/regions/24"));
    CHECK(s_has_header(&r, "etag: \"1\""));
    CHECK(s_has_header(&r, "x-request-id: test.rid-1"));
    CHECK(strstr(r.body, "\"name\":\"Красноярский край\"") != NULL);
    CHECK(!s_has_header(&r, "idempotent-replayed"));

    /* the retry is replayed, the service is not called again */
    CHECK(s_http("POST", "/api/v1/regions", S_AUTH "Idempotency-Key: key-1\r\n", create, &r) == 0);
    CHECK(r.status == 201);
    CHECK(s_has_header(&r, "idempotent-replayed: true"));
    CHECK(s_has_header(&r, "location: /api/v1/regions/24"));
    CHECK(strstr(r.body, "\"id\":\"24\"") != NULL);
    /* the same key with another body is refused */
    CHECK(s_http("POST", "/api/v1/regions", S_AUTH "Idempotency-Key: key-1\r\n", "{\"id\":\"25\",\"name\":\"x\"}",
                 &r) == 0);
    CHECK(r.status == 422);
    CHECK(strstr(r.body, "\"code\":\"unprocessable\"") != NULL);
    /* an invalid key */
    CHECK(s_http("POST", "/api/v1/regions", S_AUTH "Idempotency-Key: \x01\r\n", create, &r) == 0);
    CHECK(r.status == 400);

    CHECK(s_http("GET", "/api/v1/regions/77", S_AUTH, NULL, &r) == 0);
    CHECK(r.status == 200);
    CHECK(s_has_header(&r, "etag: \"3\""));
    CHECK(strstr(r.body, "\"version\":\"3\"") != NULL);

    CHECK(s_http("GET", "/api/v1/regions/01", S_AUTH, NULL, &r) == 0);
    CHECK(r.status == 404);
    CHECK(strstr(r.body, "\"code\":\"not_found\"") != NULL);
    CHECK(strstr(r.body, "Регион не найден") != NULL);
    CHECK(s_has_header(&r, "content-type: application/json; charset=utf-8"));

    CHECK(s_http("GET", "/api/v1/regions?limit=5", S_AUTH, NULL, &r) == 0);
    CHECK(r.status == 429);
    CHECK(s_has_header(&r, "retry-after: 7"));

    CHECK(s_http("DELETE", "/api/v1/regions/77", S_AUTH "If-Match: \"3\"\r\n", NULL, &r) == 0);
    CHECK(r.status == 501);

    CHECK(s_http("POST", "/api/v1/regions", S_AUTH, "{\"id\":", &r) == 0);
    CHECK(r.status == 400);
    CHECK(strstr(r.body, "\"code\":\"invalid_argument\"") != NULL);

    CHECK(s_http("GET", "/api/v1/openapi.json", NULL, NULL, &r) == 0);
    CHECK(r.status == 200);
    CHECK(s_http("GET", "/metrics", NULL, NULL, &r) == 0);
    CHECK(r.status == 200);
    uv_async_send(&s_done);
    return NULL;
}

/* ---- wiring: the shared stack (Redis, broker, the gateway's HTTP front) and the scripted workers ---- */

static bool s_client_done;

static void s_on_done(uv_async_t *async)
{
    (void)async;
    s_client_done = true;
}

static bool s_client_finished(void *ud)
{
    (void)ud;
    return s_client_done;
}

static void test_http_flow(void **state)
{
    (void)state;
    gateway_http_options gateway;
    gateway_http_options_default(&gateway);
    gateway.port = 0;
    gateway.request_timeout_ms = 2000;
    stack_fixture_options options;
    /* the users of ops/redis-acl.conf: the gateway's idempotency writes run as its production user */
    stack_fixture_options_default(&options, STACK_GATEWAY_HTTP);
    options.heartbeat = (mdp_heartbeat){200, 3};
    options.gateway = &gateway;
    stack_fixture *f = stack_fixture_new_with(&options);
    s_port = gateway_http_port(f->gateway);
    assert_true(s_port > 0);
    mdp_worker *worker =
        mdp_worker_new(&f->loop, f->zmq, f->endpoint, &f->curve, "registry", 2, options.heartbeat, s_on_work, NULL);
    assert_non_null(worker);
    mdp_worker *auth_worker =
        mdp_worker_new(&f->loop, f->zmq, f->endpoint, &f->curve, "auth", 2, options.heartbeat, s_on_work, NULL);
    assert_non_null(auth_worker);
    uv_async_init(&f->loop, &s_done, s_on_done);
    pthread_t client;
    pthread_create(&client, NULL, s_client, NULL);
    bool finished = stack_fixture_run_until(f, s_client_finished, NULL, 60000);
    pthread_join(client, NULL);
    uv_close((uv_handle_t *)&s_done, NULL);
    mdp_worker_shutdown(worker, 0, NULL, NULL);
    mdp_worker_shutdown(auth_worker, 0, NULL, NULL);
    stack_fixture_destroy(&f);
    assert_true(finished);
    assert_int_equal(s_failures, 0);
    assert_int_equal(s_creates, 1);
    /* the envelope carried what the service relies on */
    assert_non_null(s_last);
    assert_non_null(s_last->caller);
    assert_string_equal(s_last->caller->user_id, "u1");
    assert_int_equal(s_last->caller->role, METODNET__ROLE__ROLE_REGION_ADMIN);
    assert_string_equal(s_last->caller->scope_id, "24");
    assert_int_equal(s_logins, 1);
    /* the bad token twice (never cached as good), the good one once: every later request hit the cache */
    assert_int_equal(s_authentications, 2);
    assert_true(s_last->deadline_unix_ms > clock_unix_ms() - 60000);
    assert_string_equal(s_last->client_address, "127.0.0.1");
    metodnet__envelope__free_unpacked(s_last, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_http_flow)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
