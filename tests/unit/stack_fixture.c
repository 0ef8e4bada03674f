/* stack_fixture — builds and tears down the unit tests' service stack (see stack_fixture.h for the
 * contract). Every failure is a cmocka assertion, so it fails the test that asked for the part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <zmq.h>

#include "stack_fixture.h"

#include "pbfield.h"
#include "registry.pb-c.h"

static const unsigned s_services = STACK_REGISTRY | STACK_AUTH | STACK_DIAGNOSTICS;

void stack_fixture_options_default(stack_fixture_options *options, unsigned parts)
{
    memset(options, 0, sizeof *options);
    options->parts = parts;
    options->heartbeat = (mdp_heartbeat){100, 3};
    options->concurrency = 4;
}

static redis_link *s_link_as(stack_fixture *f, const char *user)
{
    redis_link_options options;
    char password[96];
    redis_test_link_as(&f->redis, user, password, sizeof password, &options);
    redis_link *link = redis_link_new(&f->loop, &options);
    assert_non_null(link);
    return link;
}

static bool s_workers_registered(void *ud)
{
    stack_fixture *f = ud;
    return (!f->registry || mdp_broker_worker_count(f->broker, "registry") > 0) &&
           (!f->auth || mdp_broker_worker_count(f->broker, "auth") > 0) &&
           (!f->diagnostics || mdp_broker_worker_count(f->broker, "diagnostics") > 0);
}

stack_fixture *stack_fixture_new_with(const stack_fixture_options *options)
{
    stack_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    unsigned parts = options->parts;
    if (parts & (s_services | STACK_GATEWAY_HTTP))
        parts |= STACK_REDIS | STACK_BROKER;
    f->parts = parts;
    if (parts & STACK_REDIS) {
        f->redis.service_acl = true; /* each service writes under its production ACL user */
        assert_int_equal(redis_test_server_start(&f->redis), 0);
        _Static_assert(sizeof f->dir == sizeof f->redis.dir, "the fixture's dir is Redis's");
        memcpy(f->dir, f->redis.dir, sizeof f->dir);
    } else {
        snprintf(f->dir, sizeof f->dir, "/tmp/metodnet-stack-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
    }
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->zmq = zmq_ctx_new();
    assert_non_null(f->zmq);
    snprintf(f->endpoint, sizeof f->endpoint, "ipc://%s/broker", f->dir);
    if (parts & STACK_BROKER) {
        /* the broker behind CurveZMQ as in production: the in-process services and the test's client
         * connect with one service key ("service:fixture"), which the ZAP handler admits */
        uint8_t broker_secret[MDP_CURVE_KEY_BYTES];
        assert_int_equal(curve_keypair_new(f->curve.broker_public, broker_secret), 0);
        assert_int_equal(curve_keypair_new(f->curve.public_key, f->curve.secret_key), 0);
        curve_client_list clients = {NULL, 0};
        assert_int_equal(curve_clients_add(&clients, CURVE_PEER_SERVICE, "fixture", f->curve.public_key), 0);
        char problem[256];
        f->broker_auth = broker_auth_new(&f->loop, f->zmq, broker_secret, &clients, problem, sizeof problem);
        curve_clients_free(&clients);
        if (!f->broker_auth)
            fail_msg("broker_auth_new: %s", problem);
        mdp_broker_security security;
        broker_auth_security(f->broker_auth, NULL, &security);
        f->broker = mdp_broker_new_secure(&f->loop, f->zmq, f->endpoint, options->heartbeat, &security);
        assert_non_null(f->broker);
    }
    f->cfg.service_name = "test";
    f->cfg.broker_endpoint = f->endpoint;
    f->cfg.concurrency = options->concurrency;
    f->cfg.heartbeat = options->heartbeat;
    f->cfg.request_timeout_ms = 5000;
    f->cfg.broker_curve = &f->curve;
    if (parts & STACK_REGISTRY) {
        f->registry_link = s_link_as(f, "registry");
        f->registry = registry_new(&f->loop, f->zmq, &f->cfg, f->registry_link);
        assert_non_null(f->registry);
    }
    if (parts & STACK_AUTH) {
        f->auth_link = s_link_as(f, "auth");
        f->auth = auth_new(&f->loop, f->zmq, &f->cfg, f->auth_link, options->auth);
        assert_non_null(f->auth);
    }
    if (parts & STACK_DIAGNOSTICS) {
        f->diagnostics_link = s_link_as(f, "diagnostics");
        f->diagnostics = diagnostics_new(&f->loop, f->zmq, &f->cfg, f->diagnostics_link);
        assert_non_null(f->diagnostics);
    }
    if (parts & STACK_GATEWAY_HTTP) {
        gateway_http_options gateway;
        if (options->gateway) {
            gateway = *options->gateway;
        } else {
            gateway_http_options_default(&gateway);
            gateway.port = 0;
        }
        f->gateway_link = s_link_as(f, "gateway");
        f->gateway = gateway_http_new(&f->loop, &gateway, f->broker, f->gateway_link);
        assert_non_null(f->gateway);
    }
    if (parts & s_services) {
        f->client = service_client_new(&f->loop, f->zmq, f->endpoint, &f->curve);
        assert_non_null(f->client);
        assert_true(stack_fixture_run_until(f, s_workers_registered, f, 5000));
    }
    return f;
}

stack_fixture *stack_fixture_new(unsigned parts)
{
    stack_fixture_options options;
    stack_fixture_options_default(&options, parts);
    return stack_fixture_new_with(&options);
}

static void s_stopped(void *ud)
{
    ((stack_fixture *)ud)->stopped++;
}

typedef struct {
    stack_fixture *f;
    int want;
} s_stop_wait;

static bool s_all_stopped(void *ud)
{
    s_stop_wait *w = ud;
    return w->f->stopped >= w->want;
}

void stack_fixture_destroy(stack_fixture **fp)
{
    stack_fixture *f = *fp;
    if (f == NULL)
        return;
    *fp = NULL;
    service_client_destroy(&f->client);
    s_stop_wait wait = {f, 0};
    if (f->auth) {
        auth_shutdown(f->auth, s_stopped, f);
        wait.want++;
    }
    if (f->diagnostics) {
        diagnostics_shutdown(f->diagnostics, s_stopped, f);
        wait.want++;
    }
    if (f->registry) {
        registry_shutdown(f->registry, s_stopped, f);
        wait.want++;
    }
    assert_true(stack_fixture_run_until(f, s_all_stopped, &wait, 5000));
    f->auth = NULL;
    f->diagnostics = NULL;
    f->registry = NULL;
    if (f->gateway)
        gateway_http_stop(f->gateway);
    mdp_broker_destroy(&f->broker);
    assert_null(f->broker); /* x_destroy(&x) nulls x (test_mdp relies on it) */
    broker_auth_destroy(&f->broker_auth);
    redis_link_close(&f->registry_link);
    redis_link_close(&f->auth_link);
    redis_link_close(&f->diagnostics_link);
    redis_link_close(&f->gateway_link);
    gateway_http_destroy(&f->gateway);
    uv_run(&f->loop, UV_RUN_DEFAULT); /* every handle closes; nothing may keep the loop alive */
    assert_int_equal(uv_loop_close(&f->loop), 0);
    assert_int_equal(zmq_ctx_term(f->zmq), 0);
    char path[300];
    snprintf(path, sizeof path, "%s/broker", f->dir);
    unlink(path);
    if (f->parts & STACK_REDIS)
        redis_test_server_destroy(&f->redis); /* removes the dir, which is Redis's */
    else
        rmdir(f->dir);
    free(f);
}

static void s_wake(uv_timer_t *timer)
{
    (void)timer;
}

bool stack_fixture_run_until(stack_fixture *f, bool (*cond)(void *ud), void *ud, uint64_t timeout_ms)
{
    uv_timer_t spin;
    uv_timer_init(&f->loop, &spin);
    uv_timer_start(&spin, s_wake, 2, 2);
    uv_update_time(&f->loop);
    uint64_t end = uv_now(&f->loop) + timeout_ms;
    bool ok;
    while (!(ok = cond ? cond(ud) : false) && uv_now(&f->loop) < end)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&spin, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    return ok;
}

void stack_fixture_run_for(stack_fixture *f, uint64_t ms)
{
    stack_fixture_run_until(f, NULL, NULL, ms);
}

/* ---------- calls through the broker ---------- */

static void s_called(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    stack_call_result *r = ud;
    r->done = true;
    r->code = status->code;
    r->retry_after = status->retry_after_seconds;
    snprintf(r->message, sizeof r->message, "%s", status->message ? status->message : "");
    if (status->n_violations > 0)
        snprintf(r->field, sizeof r->field, "%s", status->violations[0]->field);
    r->response = response ? pbfield_clone(response) : NULL;
}

stack_call_result stack_fixture_call(stack_fixture *f, const char *service, const char *method,
                                     const ProtobufCMessage *request, const ProtobufCMessageDescriptor *response,
                                     const Metodnet__Principal *caller, const char *address)
{
    assert_non_null(f->client);
    stack_call_result r = {0};
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

void stack_call_result_free(stack_call_result *r)
{
    if (r->response)
        protobuf_c_message_free_unpacked(r->response, NULL);
    r->response = NULL;
}

void stack_call_ok(const stack_call_result *r, const char *what)
{
    if (r->code != METODNET__STATUS_CODE__STATUS_CODE_OK)
        fail_msg("%s: %d %s (%s)", what, r->code, r->message, r->field);
}

/* ---------- the shared registry data ---------- */

static void s_registry_create(stack_fixture *f, const char *method, const ProtobufCMessage *request,
                              const ProtobufCMessageDescriptor *response, const char *expect_id)
{
    stack_call_result r =
        stack_fixture_call(f, "registry", method, request, response, service_client_system_principal(), "");
    stack_call_ok(&r, method);
    assert_string_equal(pbfield_string(r.response, "id"), expect_id);
    stack_call_result_free(&r);
}

void stack_fixture_seed_registry(stack_fixture *f)
{
    Metodnet__Region region = METODNET__REGION__INIT;
    region.id = "07";
    region.name = "Кабардино-Балкарская Республика";
    Metodnet__CreateRegionRequest cr = METODNET__CREATE_REGION_REQUEST__INIT;
    cr.region = &region;
    s_registry_create(f, "CreateRegion", &cr.base, &metodnet__region__descriptor, "07");
    const char *municipalities[] = {"Терский район", "Баксанский район"};
    const char *organizations[] = {"МКОУ СОШ № 1 г.п. Терек", "МКОУ СОШ № 2 г. Баксан"};
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
        char municipality[16], id[16];
        snprintf(municipality, sizeof municipality, "07-m%d", i + 1);
        snprintf(id, sizeof id, "07-o%d", i + 1);
        o.municipality_id = municipality;
        o.name = (char *)organizations[i];
        o.kind = METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_SCHOOL;
        Metodnet__CreateOrganizationRequest co = METODNET__CREATE_ORGANIZATION_REQUEST__INIT;
        co.organization = &o;
        s_registry_create(f, "CreateOrganization", &co.base, &metodnet__organization__descriptor, id);
    }
    for (int i = 0; i < 2; i++) {
        char organization[16], id[16];
        snprintf(organization, sizeof organization, "07-o%d", i + 1);
        snprintf(id, sizeof id, "07-s%d", i + 1);
        const char *organization_ids[] = {organization};
        stack_fixture_create_teacher(f, "Кодзоков", "Аслан", "1985-04-12", organization_ids, 1, id);
    }
}

void stack_fixture_create_teacher(stack_fixture *f, const char *last_name, const char *first_name,
                                  const char *birth_date, const char *const *organization_ids,
                                  size_t n_organization_ids, const char *expect_id)
{
    Metodnet__StaffMember s = METODNET__STAFF_MEMBER__INIT;
    char *subjects[] = {"mathematics"};
    s.last_name = (char *)last_name;
    s.first_name = (char *)first_name;
    s.birth_date = (char *)birth_date;
    s.position = METODNET__POSITION__POSITION_TEACHER;
    s.category = METODNET__STAFF_CATEGORY__STAFF_CATEGORY_TEACHER;
    s.organization_ids = (char **)organization_ids;
    s.n_organization_ids = n_organization_ids;
    s.subjects = subjects;
    s.n_subjects = 1;
    Metodnet__CreateStaffRequest cs = METODNET__CREATE_STAFF_REQUEST__INIT;
    cs.staff = &s;
    s_registry_create(f, "CreateStaff", &cs.base, &metodnet__staff_member__descriptor, expect_id);
}

/* ---------- the test's own look into Redis ---------- */

redisReply *stack_fixture_redis(stack_fixture *f, const char *format, ...)
{
    redisContext *c = redisConnectUnix(f->redis.socket_path);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    va_list ap;
    va_start(ap, format);
    redisReply *r = redisvCommand(c, format, ap);
    va_end(ap);
    redisFree(c);
    assert_non_null(r);
    return r;
}

long long stack_fixture_redis_integer(stack_fixture *f, const char *format, const char *arg)
{
    redisReply *r = stack_fixture_redis(f, format, arg);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
    freeReplyObject(r);
    return v;
}

static bool s_bytes_contain(const char *hay, size_t hay_len, const char *needle, size_t needle_len)
{
    for (size_t i = 0; needle_len <= hay_len && i <= hay_len - needle_len; i++)
        if (memcmp(hay + i, needle, needle_len) == 0)
            return true;
    return false;
}

bool stack_fixture_redis_contains(stack_fixture *f, const char *text)
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
