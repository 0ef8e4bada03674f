/* stack_fixture — the one service stack the unit tests stand on, all in one process on one libuv
 * loop: a private redis-server with the production ACL users (redis_test_server.h, service_acl), an
 * in-process MDP broker over ipc:// in a temp dir behind CurveZMQ (one service key f->curve, admitted by
 * its ZAP handler), the real registry, auth and diagnostics services
 * registered with it, the gateway's HTTP front, and a service_client to call the services as any
 * principal. Which parts are built is said by STACK_* flags; a part that needs Redis or the broker
 * brings them along.
 *
 * Invariants: every service (and the gateway) reaches Redis through its own redis_link connected as
 * that service's production ACL user from ops/redis-acl.conf, so its writes in a test run under the
 * same grants as in production; the test's own look into Redis (stack_fixture_redis) goes as the
 * unrestricted default user. stack_fixture_new() returns only once every in-process service has a
 * worker registered with the broker. Failures are cmocka failures (the calling test fails).
 *
 * Built into the metodnet_test_stack library (tests/CMakeLists.txt), which links every service's
 * library; its include order puts services/auth/auth.h before the gateway's auth.h. */
#ifndef METODNET_TEST_STACK_FIXTURE_H
#define METODNET_TEST_STACK_FIXTURE_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "auth.h"
#include "broker_auth.h"
#include "config.h"
#include "diagnostics.h"
#include "envelope.pb-c.h"
#include "http.h"
#include "mdp_broker.h"
#include "redis_link.h"
#include "redis_test_server.h"
#include "registry.h"
#include "service_client.h"

#ifndef METODNET_AUTH_H
#error "stack_fixture.h needs services/auth/auth.h, not the gateway's auth.h"
#endif

/* The parts of the stack. */
enum {
    STACK_REDIS = 1u << 0,        /* redis-server with the users of ops/redis-acl.conf */
    STACK_BROKER = 1u << 1,       /* the MDP broker at f->endpoint */
    STACK_REGISTRY = 1u << 2,     /* the registry service (Redis user "registry"); brings Redis, broker */
    STACK_AUTH = 1u << 3,         /* the auth service (Redis user "auth"); brings Redis, broker */
    STACK_DIAGNOSTICS = 1u << 4,  /* the diagnostics service (Redis user "diagnostics"); brings Redis, broker */
    STACK_GATEWAY_HTTP = 1u << 5, /* the gateway's HTTP front (Redis user "gateway"); brings Redis, broker */
};

typedef struct {
    unsigned parts;                      /* STACK_* */
    mdp_heartbeat heartbeat;             /* broker and services; default {100, 3} */
    unsigned concurrency;                /* each in-process service's; default 4 */
    const auth_options *auth;            /* NULL = auth_options_default */
    const gateway_http_options *gateway; /* NULL = gateway_http_options_default with port 0 */
} stack_fixture_options;

typedef struct {
    unsigned parts; /* as built, with what the asked-for parts brought along */
    uv_loop_t loop;
    void *zmq;
    char dir[128];      /* temp dir: the broker's socket, Redis's socket when STACK_REDIS */
    char endpoint[256]; /* ipc:// endpoint of the broker */
    redis_test_server redis;
    mdp_broker *broker;
    broker_auth *broker_auth; /* the broker's ZAP handler (CurveZMQ) */
    mdp_curve_keys curve;     /* the service key the fixture's services and client connect with */
    config cfg;               /* the in-process services' (borrowed by them) */
    redis_link *registry_link;
    redis_link *auth_link;
    redis_link *diagnostics_link;
    redis_link *gateway_link;
    registry *registry;
    auth *auth;
    diagnostics *diagnostics;
    gateway_http *gateway;
    service_client *client; /* present when any service is in-process */
    int stopped;            /* services whose shutdown has called back */
} stack_fixture;

/* The outcome of one call through the broker; response owned (stack_call_result_free). */
typedef struct {
    bool done;
    Metodnet__StatusCode code;
    int32_t retry_after;
    char message[256];
    char field[96];             /* the first violation's field */
    ProtobufCMessage *response; /* NULL unless OK */
} stack_call_result;

void stack_fixture_options_default(stack_fixture_options *options, unsigned parts);

/* Builds the parts of options (cmocka failure when one cannot be built). Caller destroys. */
stack_fixture *stack_fixture_new_with(const stack_fixture_options *options);
/* stack_fixture_new_with with the defaults for parts. */
stack_fixture *stack_fixture_new(unsigned parts);

/* Shuts the services down (waiting for their callbacks), stops the gateway, destroys the broker
 * and the links, runs the loop until every handle has closed, and removes Redis and the temp dir.
 * Fails the test when the loop cannot close. *f = NULL; NULL-safe. */
void stack_fixture_destroy(stack_fixture **f);

/* Runs the loop until cond(ud) is true or timeout_ms passes (a 2 ms timer keeps it turning);
 * returns cond's last value. cond NULL: just runs for timeout_ms. */
bool stack_fixture_run_until(stack_fixture *f, bool (*cond)(void *ud), void *ud, uint64_t timeout_ms);
void stack_fixture_run_for(stack_fixture *f, uint64_t ms);

/* Calls service.method as caller (NULL: none) from client address (NULL: "") and runs the loop
 * until the answer. */
stack_call_result stack_fixture_call(stack_fixture *f, const char *service, const char *method,
                                     const ProtobufCMessage *request, const ProtobufCMessageDescriptor *response,
                                     const Metodnet__Principal *caller, const char *address);
void stack_call_result_free(stack_call_result *r);
/* Fails the test, naming what, when r is not OK. */
void stack_call_ok(const stack_call_result *r, const char *what);

/* The registry data the service tests share, created through the registry as the system principal:
 * region 07; municipalities 07-m1, 07-m2; schools 07-o1 (in m1) and 07-o2 (in m2); teachers of
 * mathematics 07-s1 (in o1) and 07-s2 (in o2). Needs STACK_REGISTRY. */
void stack_fixture_seed_registry(stack_fixture *f);
/* Creates a teacher of mathematics in the given organizations through the registry (as the system
 * principal) and checks that the registry gave it expect_id. Needs STACK_REGISTRY. */
void stack_fixture_create_teacher(stack_fixture *f, const char *last_name, const char *first_name,
                                  const char *birth_date, const char *const *organization_ids,
                                  size_t n_organization_ids, const char *expect_id);

/* A blocking command to the test Redis as the default user (caller frees the reply). */
redisReply *stack_fixture_redis(stack_fixture *f, const char *format, ...);
/* The integer reply (or a string's number) of a one-argument command; -1 for any other reply. */
long long stack_fixture_redis_integer(stack_fixture *f, const char *format, const char *arg);
/* True when text occurs in any key or any value of any key (strings, hashes, sets, zsets, streams). */
bool stack_fixture_redis_contains(stack_fixture *f, const char *text);

#endif
