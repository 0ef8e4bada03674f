/* test_mdp — MDP/0.2 broker, worker and client against each other and against raw ZeroMQ peers
 * speaking the RFC 18 frames by hand, over ipc:// in a temp dir, all on one libuv loop (the broker of
 * the shared stack, stack_fixture.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>
#include <zmq.h>

#include "mdp.h"
#include "mdp_broker.h"
#include "mdp_client.h"
#include "mdp_worker.h"
#include "stack_fixture.h"

static const mdp_heartbeat s_heartbeat = {100, 3};

/* ---- the broker alone, from the shared stack (stack_fixture.h) ---- */

static int s_setup(void **state)
{
    stack_fixture_options options;
    stack_fixture_options_default(&options, STACK_BROKER);
    options.heartbeat = s_heartbeat;
    *state = stack_fixture_new_with(&options);
    return 0;
}

/* Fails the test unless every handle closes (nothing may keep the loop alive) and the ZeroMQ context
 * terminates (every socket closed). */
static int s_teardown(void **state)
{
    stack_fixture *f = *state;
    stack_fixture_destroy(&f);
    return 0;
}

/* ---- an echo service on mdp_worker, optionally answering after a delay ---- */

typedef struct {
    uv_loop_t *loop;
    mdp_worker *worker;
    int requests;
    uint32_t delay_ms;
    size_t max_busy;
    int done;
    int reply_results; /* sum of mdp_worker_reply return values */
} echo_service;

typedef struct {
    uv_timer_t timer;
    echo_service *service;
    mdp_worker_request *req;
    size_t len;
    uint8_t body[256];
} delayed_reply;

static void s_echo_answer(echo_service *service, mdp_worker_request *req, const uint8_t *body, size_t len)
{
    uint8_t reply[300];
    memcpy(reply, "echo:", 5);
    memcpy(reply + 5, body, len);
    service->reply_results += mdp_worker_reply(req, reply, len + 5);
}

static void s_delayed_close(uv_handle_t *handle)
{
    free(handle->data);
}

static void s_delayed_fire(uv_timer_t *timer)
{
    delayed_reply *d = timer->data;
    s_echo_answer(d->service, d->req, d->body, d->len);
    uv_close((uv_handle_t *)&d->timer, s_delayed_close);
}

static void s_echo_request(mdp_worker *worker, mdp_worker_request *req, const uint8_t *body, size_t len, void *ud)
{
    echo_service *service = ud;
    service->requests++;
    if (mdp_worker_busy(worker) > service->max_busy)
        service->max_busy = mdp_worker_busy(worker);
    assert_true(len <= 256);
    if (service->delay_ms == 0) {
        s_echo_answer(service, req, body, len);
        return;
    }
    delayed_reply *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->service = service;
    d->req = req;
    d->len = len;
    memcpy(d->body, body, len);
    uv_timer_init(service->loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, s_delayed_fire, service->delay_ms, 0);
}

static void s_echo_start(stack_fixture *f, echo_service *service, const char *name, unsigned concurrency)
{
    service->loop = &f->loop;
    service->worker = mdp_worker_new(&f->loop, f->zmq, f->endpoint, &f->curve, name, concurrency, s_heartbeat,
                                     s_echo_request, service);
    assert_non_null(service->worker);
}

static void s_done(void *ud)
{
    ((echo_service *)ud)->done = 1;
}

static bool s_service_done(void *ud)
{
    return ((echo_service *)ud)->done;
}

static void s_echo_stop(stack_fixture *f, echo_service *service)
{
    mdp_worker_shutdown(service->worker, 1000, s_done, service);
    assert_true(stack_fixture_run_until(f, s_service_done, service, 3000));
}

/* ---- reply capture ---- */

typedef struct {
    int calls;
    int result;
    size_t len;
    char body[256];
    uint64_t at;
    uv_loop_t *loop;
} reply;

static void s_reply_cb(int result, const uint8_t *body, size_t len, void *ud)
{
    reply *r = ud;
    r->calls++;
    r->result = result;
    r->len = len < sizeof r->body - 1 ? len : sizeof r->body - 1;
    if (body && r->len)
        memcpy(r->body, body, r->len);
    r->body[r->len] = '\0';
    r->at = r->loop ? uv_now(r->loop) : 0;
}

static bool s_reply_arrived(void *ud)
{
    return ((reply *)ud)->calls > 0;
}

typedef struct {
    stack_fixture *f;
    const char *service;
    size_t count;
} worker_wait;

static bool s_workers_are(void *ud)
{
    worker_wait *w = ud;
    return mdp_broker_worker_count(w->f->broker, w->service) == w->count;
}

static void s_wait_workers(stack_fixture *f, const char *service, size_t count)
{
    worker_wait w = {f, service, count};
    assert_true(stack_fixture_run_until(f, s_workers_are, &w, 2000));
}

/* ---- raw ZeroMQ peers ---- */

static void *s_raw_dealer(stack_fixture *f)
{
    void *socket = zmq_socket(f->zmq, ZMQ_DEALER);
    assert_non_null(socket);
    int linger = 0;
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(mdp_curve_apply(socket, &f->curve), 0); /* the fixture's broker is a Curve server */
    assert_int_equal(zmq_connect(socket, f->endpoint), 0);
    return socket;
}

/* Sends count frames given as (const char *data, size_t len) pairs. */
static void s_raw_send(void *socket, int count, ...)
{
    va_list args;
    va_start(args, count);
    for (int i = 0; i < count; i++) {
        const char *data = va_arg(args, const char *);
        size_t len = va_arg(args, size_t);
        assert_true(zmq_send(socket, data, len, i + 1 < count ? ZMQ_SNDMORE : 0) >= 0);
    }
    va_end(args);
}

typedef struct {
    void *socket;
    int count; /* frames of the message received, 0 while none */
    size_t len[8];
    char data[8][128];
} raw_message;

static bool s_raw_poll(void *ud)
{
    raw_message *m = ud;
    if (m->count)
        return 1;
    int count = 0;
    for (;;) {
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, m->socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&frame);
            return 0;
        }
        if (count < 8) {
            size_t len = zmq_msg_size(&frame) < 127 ? zmq_msg_size(&frame) : 127;
            m->len[count] = zmq_msg_size(&frame);
            memcpy(m->data[count], zmq_msg_data(&frame), len);
            m->data[count][len] = '\0';
        }
        count++;
        int more = zmq_msg_more(&frame);
        zmq_msg_close(&frame);
        if (!more)
            break;
    }
    m->count = count;
    return 1;
}

static void s_raw_expect(stack_fixture *f, raw_message *m, void *socket, uint64_t timeout_ms)
{
    memset(m, 0, sizeof *m);
    m->socket = socket;
    assert_true(stack_fixture_run_until(f, s_raw_poll, m, timeout_ms));
}

/* ---- tests ---- */

static void test_heartbeat_from_env(void **state)
{
    (void)state;
    unsetenv("METODNET_HEARTBEAT_MS");
    unsetenv("METODNET_HEARTBEAT_LIVENESS");
    mdp_heartbeat h = mdp_heartbeat_from_env();
    assert_int_equal(h.interval_ms, 1000);
    assert_int_equal(h.liveness, 3);
    setenv("METODNET_HEARTBEAT_MS", "250", 1);
    setenv("METODNET_HEARTBEAT_LIVENESS", "5", 1);
    h = mdp_heartbeat_from_env();
    assert_int_equal(h.interval_ms, 250);
    assert_int_equal(h.liveness, 5);
    setenv("METODNET_HEARTBEAT_MS", "12x", 1);
    setenv("METODNET_HEARTBEAT_LIVENESS", "-1", 1);
    h = mdp_heartbeat_from_env();
    assert_int_equal(h.interval_ms, 1000);
    assert_int_equal(h.liveness, 3);
    unsetenv("METODNET_HEARTBEAT_MS");
    unsetenv("METODNET_HEARTBEAT_LIVENESS");
}

typedef struct {
    const char *name;
    size_t workers, busy, queued;
    int seen;
} service_stat;

static void s_stat_cb(const char *service, size_t workers, size_t busy, size_t queued, void *ud)
{
    service_stat *stat = ud;
    if (strcmp(service, stat->name) == 0) {
        stat->seen = 1;
        stat->workers = workers;
        stat->busy = busy;
        stat->queued = queued;
    }
}

static void test_inprocess_echo(void **state)
{
    stack_fixture *f = *state;
    echo_service echo = {0};
    s_echo_start(f, &echo, "echo", 1);
    reply r = {.loop = &f->loop};
    /* submitted before the worker has even registered: it waits in the queue */
    mdp_pending *pending = mdp_broker_request(f->broker, "echo", (const uint8_t *)"hello", 5, 2000, s_reply_cb, &r);
    assert_non_null(pending);
    assert_int_equal(r.calls, 0);
    assert_true(stack_fixture_run_until(f, s_reply_arrived, &r, 2000));
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.result, MDP_OK);
    assert_string_equal(r.body, "echo:hello");
    assert_int_equal(echo.requests, 1);
    assert_int_equal(echo.reply_results, 0);
    service_stat stat = {.name = "echo"};
    mdp_broker_foreach_service(f->broker, s_stat_cb, &stat);
    assert_true(stat.seen);
    assert_int_equal(stat.workers, 1);
    assert_int_equal(stat.busy, 0);
    assert_int_equal(stat.queued, 0);
    /* invalid arguments: NULL, no callback */
    char long_name[MDP_SERVICE_NAME_MAX + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_null(mdp_broker_request(f->broker, "", NULL, 0, 100, s_reply_cb, &r));
    assert_null(mdp_broker_request(f->broker, long_name, NULL, 0, 100, s_reply_cb, &r));
    stack_fixture_run_for(f, 50);
    assert_int_equal(r.calls, 1);
    s_echo_stop(f, &echo);
}

#define SPREAD_N 10

typedef struct {
    reply replies[SPREAD_N];
} reply_set;

static bool s_all_replied(void *ud)
{
    reply_set *set = ud;
    for (int i = 0; i < SPREAD_N; i++)
        if (!set->replies[i].calls)
            return 0;
    return 1;
}

static void test_two_workers_share_load(void **state)
{
    stack_fixture *f = *state;
    echo_service a = {.delay_ms = 30}, b = {.delay_ms = 30};
    s_echo_start(f, &a, "spread", 1);
    s_echo_start(f, &b, "spread", 1);
    s_wait_workers(f, "spread", 2);
    reply_set set;
    memset(&set, 0, sizeof set);
    char body[SPREAD_N][8];
    for (int i = 0; i < SPREAD_N; i++) {
        snprintf(body[i], sizeof body[i], "n%d", i);
        assert_non_null(mdp_broker_request(f->broker, "spread", (const uint8_t *)body[i], strlen(body[i]), 3000,
                                           s_reply_cb, &set.replies[i]));
    }
    assert_int_equal(mdp_broker_queue_depth(f->broker, "spread"), SPREAD_N - 2);
    assert_true(stack_fixture_run_until(f, s_all_replied, &set, 3000));
    for (int i = 0; i < SPREAD_N; i++) {
        char expected[96];
        snprintf(expected, sizeof expected, "echo:%s", body[i]);
        assert_int_equal(set.replies[i].result, MDP_OK);
        assert_string_equal(set.replies[i].body, expected);
    }
    assert_int_equal(a.requests + b.requests, SPREAD_N);
    assert_true(a.requests >= 3);
    assert_true(b.requests >= 3);
    /* concurrency=2 in one process: both connections busy at once */
    echo_service c = {.delay_ms = 50};
    s_echo_start(f, &c, "pair", 2);
    s_wait_workers(f, "pair", 2);
    reply r1 = {0}, r2 = {0};
    mdp_broker_request(f->broker, "pair", (const uint8_t *)"x", 1, 2000, s_reply_cb, &r1);
    mdp_broker_request(f->broker, "pair", (const uint8_t *)"y", 1, 2000, s_reply_cb, &r2);
    assert_true(stack_fixture_run_until(f, s_reply_arrived, &r2, 2000));
    assert_true(stack_fixture_run_until(f, s_reply_arrived, &r1, 2000));
    assert_int_equal(c.max_busy, 2);
    s_echo_stop(f, &a);
    s_echo_stop(f, &b);
    s_echo_stop(f, &c);
    s_wait_workers(f, "spread", 0);
}

static void test_silent_worker_is_lost(void **state)
{
    stack_fixture *f = *state;
    void *raw = s_raw_dealer(f);
    s_raw_send(raw, 3, "MDPW02", (size_t)6, "\x01", (size_t)1, "slow", (size_t)4);
    s_wait_workers(f, "slow", 1);
    reply r = {.loop = &f->loop};
    assert_non_null(mdp_broker_request(f->broker, "slow", (const uint8_t *)"job", 3, 10000, s_reply_cb, &r));
    raw_message m;
    s_raw_expect(f, &m, raw, 1000);
    uint64_t taken = uv_now(&f->loop);
    assert_int_equal(m.count, 5);
    assert_string_equal(m.data[0], "MDPW02");
    assert_int_equal(m.len[1], 1);
    assert_int_equal(m.data[1][0], MDP_WORKER_REQUEST);
    assert_true(m.len[2] > 0);
    assert_int_equal(m.len[3], 0);
    assert_string_equal(m.data[4], "job");
    /* the raw worker now says nothing at all */
    assert_true(stack_fixture_run_until(f, s_reply_arrived, &r, 2000));
    assert_int_equal(r.result, MDP_ERR_WORKER_LOST);
    uint64_t elapsed = r.at - taken;
    assert_true(elapsed >= 250);
    assert_true(elapsed <= 300 + 250);
    assert_int_equal(mdp_broker_worker_count(f->broker, "slow"), 0);
    /* a live worker carries on */
    echo_service echo = {0};
    s_echo_start(f, &echo, "slow", 1);
    reply r2 = {0};
    assert_non_null(mdp_broker_request(f->broker, "slow", (const uint8_t *)"again", 5, 2000, s_reply_cb, &r2));
    assert_true(stack_fixture_run_until(f, s_reply_arrived, &r2, 2000));
    assert_int_equal(r2.result, MDP_OK);
    assert_string_equal(r2.body, "echo:again");
    s_echo_stop(f, &echo);
    zmq_close(raw);
}

typedef struct {
    stack_fixture *f;
    uint64_t count;
} dropped_wait;

static bool s_dropped_reached(void *ud)
{
    dropped_wait *w = ud;
    return mdp_broker_dropped_frames(w->f->broker) >= w->count;
}

static void test_malformed_frames_dropped(void **state)
{
    stack_fixture *f = *state;
    echo_service echo = {0};
    s_echo_start(f, &echo, "echo", 1);
    s_wait_workers(f, "echo", 1);
    char long_name[MDP_SERVICE_NAME_MAX + 1];
    memset(long_name, 'a', sizeof long_name);
    void *raw = s_raw_dealer(f);
    s_raw_send(raw, 1, "garbage", (size_t)7);                                                  /* 1: too few */
    s_raw_send(raw, 3, "MDPX02", (size_t)6, "\x01", (size_t)1, "echo", (size_t)4);             /* 2: header */
    s_raw_send(raw, 2, "MDPW02", (size_t)6, "\x09", (size_t)1);                                /* 3: command */
    s_raw_send(raw, 4, "MDPC02", (size_t)6, "\x01", (size_t)1, "", (size_t)0, "b", (size_t)1); /* 4: empty */
    s_raw_send(raw, 4, "MDPC02", (size_t)6, "\x01", (size_t)1, long_name, sizeof long_name, "b", (size_t)1); /* 5 */
    s_raw_send(raw, 3, "MDPC02", (size_t)6, "\x01", (size_t)1, "echo", (size_t)4);                 /* 6: no body */
    s_raw_send(raw, 4, "MDPC02", (size_t)6, "\x03", (size_t)1, "echo", (size_t)4, "b", (size_t)1); /* 7: FINAL */
    s_raw_send(raw, 3, "MDPW02", (size_t)6, "\x01\x01", (size_t)2, "x", (size_t)1);                /* 8: cmd size */
    s_raw_send(raw, 4, "MDPW02", (size_t)6, "\x05", (size_t)1, "x", (size_t)1, "y", (size_t)1);    /* 9: count */
    /* 10: a registered worker sending FINAL while it holds no request */
    void *idle = s_raw_dealer(f);
    s_raw_send(idle, 3, "MDPW02", (size_t)6, "\x01", (size_t)1, "idle", (size_t)4);
    s_wait_workers(f, "idle", 1);
    s_raw_send(idle, 5, "MDPW02", (size_t)6, "\x04", (size_t)1, "client", (size_t)6, "", (size_t)0, "r", (size_t)1);
    dropped_wait w = {f, 10};
    assert_true(stack_fixture_run_until(f, s_dropped_reached, &w, 2000));
    stack_fixture_run_for(f, 50);
    assert_int_equal(mdp_broker_dropped_frames(f->broker), 10);
    assert_int_equal(mdp_broker_worker_count(f->broker, "idle"), 1);
    /* the broker keeps serving */
    reply r = {0};
    assert_non_null(mdp_broker_request(f->broker, "echo", (const uint8_t *)"ok", 2, 2000, s_reply_cb, &r));
    assert_true(stack_fixture_run_until(f, s_reply_arrived, &r, 2000));
    assert_int_equal(r.result, MDP_OK);
    assert_string_equal(r.body, "echo:ok");
    /* and a second READY from a known worker is a protocol error: DISCONNECT, removed */
    s_raw_send(idle, 3, "MDPW02", (size_t)6, "\x01", (size_t)1, "idle", (size_t)4);
    raw_message m;
    for (;;) { /* heartbeats may come first */
        s_raw_expect(f, &m, idle, 1000);
        assert_int_equal(m.count, 2);
        if (m.data[1][0] != MDP_WORKER_HEARTBEAT)
            break;
    }
    assert_int_equal(m.data[1][0], MDP_WORKER_DISCONNECT);
    assert_int_equal(mdp_broker_worker_count(f->broker, "idle"), 0);
    s_echo_stop(f, &echo);
    zmq_close(raw);
    zmq_close(idle);
}

static void test_unknown_worker_heartbeat_gets_disconnect(void **state)
{
    stack_fixture *f = *state;
    void *raw = s_raw_dealer(f);
    s_raw_send(raw, 2, "MDPW02", (size_t)6, "\x05", (size_t)1);
    raw_message m;
    s_raw_expect(f, &m, raw, 1000);
    assert_int_equal(m.count, 2);
    assert_string_equal(m.data[0], "MDPW02");
    assert_int_equal(m.len[1], 1);
    assert_int_equal(m.data[1][0], MDP_WORKER_DISCONNECT);
    assert_int_equal(mdp_broker_dropped_frames(f->broker), 0);
    /* a worker may not register in the mmi.* namespace (RFC 8) */
    void *mmi = s_raw_dealer(f);
    s_raw_send(mmi, 3, "MDPW02", (size_t)6, "\x01", (size_t)1, "mmi.fake", (size_t)8);
    s_raw_expect(f, &m, mmi, 1000);
    assert_int_equal(m.count, 2);
    assert_int_equal(m.data[1][0], MDP_WORKER_DISCONNECT);
    assert_int_equal(mdp_broker_worker_count(f->broker, "mmi.fake"), 0);
    zmq_close(raw);
    zmq_close(mmi);
}

static void s_client_expect(stack_fixture *f, mdp_client *client, const char *service, const char *body,
                            const char *expected)
{
    reply r = {0};
    assert_int_equal(mdp_client_request(client, service, (const uint8_t *)body, strlen(body), 2000, s_reply_cb, &r), 0);
    assert_int_equal(r.calls, 0);
    assert_true(stack_fixture_run_until(f, s_reply_arrived, &r, 2000));
    assert_int_equal(r.result, MDP_OK);
    assert_string_equal(r.body, expected);
}

static void test_mmi(void **state)
{
    stack_fixture *f = *state;
    echo_service echo = {0};
    s_echo_start(f, &echo, "echo", 1);
    s_wait_workers(f, "echo", 1);
    mdp_client *client = mdp_client_new(&f->loop, f->zmq, f->endpoint, &f->curve);
    assert_non_null(client);
    s_client_expect(f, client, "mmi.service", "echo", "200");
    s_client_expect(f, client, "mmi.service", "nobody", "404");
    s_client_expect(f, client, "mmi.other", "echo", "501");
    s_client_expect(f, client, "echo", "via client", "echo:via client");
    assert_int_equal(mdp_client_request(client, "", NULL, 0, 100, s_reply_cb, NULL), -1);
    /* in-process MMI: answered later, never inside mdp_broker_request */
    reply r = {0};
    assert_non_null(mdp_broker_request(f->broker, "mmi.service", (const uint8_t *)"echo", 4, 1000, s_reply_cb, &r));
    assert_int_equal(r.calls, 0);
    assert_true(stack_fixture_run_until(f, s_reply_arrived, &r, 1000));
    assert_string_equal(r.body, "200");
    /* interop: a raw DEALER speaking MDPC02 */
    void *raw = s_raw_dealer(f);
    raw_message m;
    s_raw_send(raw, 4, "MDPC02", (size_t)6, "\x01", (size_t)1, "mmi.service", (size_t)11, "echo", (size_t)4);
    s_raw_expect(f, &m, raw, 1000);
    assert_int_equal(m.count, 4);
    assert_string_equal(m.data[0], "MDPC02");
    assert_int_equal(m.len[1], 1);
    assert_int_equal(m.data[1][0], MDP_CLIENT_FINAL);
    assert_string_equal(m.data[2], "mmi.service");
    assert_string_equal(m.data[3], "200");
    s_raw_send(raw, 4, "MDPC02", (size_t)6, "\x01", (size_t)1, "mmi.service", (size_t)11, "ghost", (size_t)5);
    s_raw_expect(f, &m, raw, 1000);
    assert_string_equal(m.data[3], "404");
    s_raw_send(raw, 4, "MDPC02", (size_t)6, "\x01", (size_t)1, "mmi.x", (size_t)5, "", (size_t)0);
    s_raw_expect(f, &m, raw, 1000);
    assert_string_equal(m.data[2], "mmi.x");
    assert_string_equal(m.data[3], "501");
    s_raw_send(raw, 4, "MDPC02", (size_t)6, "\x01", (size_t)1, "echo", (size_t)4, "raw", (size_t)3);
    s_raw_expect(f, &m, raw, 1000);
    assert_int_equal(m.count, 4);
    assert_int_equal(m.data[1][0], MDP_CLIENT_FINAL);
    assert_string_equal(m.data[2], "echo");
    assert_string_equal(m.data[3], "echo:raw");
    zmq_close(raw);
    mdp_client_destroy(&client);
    assert_null(client);
    s_echo_stop(f, &echo);
}

static void test_deadline_without_workers(void **state)
{
    stack_fixture *f = *state;
    reply r = {.loop = &f->loop};
    uv_update_time(&f->loop);
    uint64_t start = uv_now(&f->loop);
    assert_non_null(mdp_broker_request(f->broker, "nobody", (const uint8_t *)"x", 1, 200, s_reply_cb, &r));
    assert_int_equal(mdp_broker_queue_depth(f->broker, "nobody"), 1);
    assert_true(stack_fixture_run_until(f, s_reply_arrived, &r, 2000));
    assert_int_equal(r.result, MDP_ERR_TIMEOUT);
    assert_true(r.at - start >= 195);
    assert_true(r.at - start <= 400);
    assert_int_equal(mdp_broker_queue_depth(f->broker, "nobody"), 0);
}

/* A bounded queue: past the bound a request is refused at once (later, through its callback), counted,
 * never queued; an external client's is dropped; the queue takes requests again once it drains. A
 * queued request past its deadline fails at its deadline and never reaches a worker. */
static void test_queue_bound_and_deadlines(void **state)
{
    stack_fixture *f = *state;
    mdp_broker_set_queue_max(f->broker, 3);
    assert_int_equal(mdp_broker_queue_max(f->broker), 3);
    echo_service echo = {.delay_ms = 150};
    s_echo_start(f, &echo, "slow", 1);
    s_wait_workers(f, "slow", 1);
    assert_true(mdp_broker_oldest_heartbeat_ms(f->broker, "slow") >= 0);
    assert_true(mdp_broker_oldest_heartbeat_ms(f->broker, "slow") <= 300);
    assert_int_equal(mdp_broker_oldest_heartbeat_ms(f->broker, "nobody"), -1);

    reply accepted[4];
    memset(accepted, 0, sizeof accepted);
    for (int i = 0; i < 4; i++) /* one in flight, three queued */
        assert_non_null(mdp_broker_request(f->broker, "slow", (const uint8_t *)"a", 1, 5000, s_reply_cb, &accepted[i]));
    assert_int_equal(mdp_broker_queue_depth(f->broker, "slow"), 3);
    reply refused = {.loop = &f->loop};
    uv_update_time(&f->loop);
    uint64_t start = uv_now(&f->loop);
    assert_non_null(mdp_broker_request(f->broker, "slow", (const uint8_t *)"b", 1, 5000, s_reply_cb, &refused));
    assert_int_equal(refused.calls, 0); /* never from inside the call */
    assert_int_equal(mdp_broker_queue_depth(f->broker, "slow"), 3);
    assert_true(stack_fixture_run_until(f, s_reply_arrived, &refused, 1000));
    assert_int_equal(refused.result, MDP_ERR_OVERLOADED);
    assert_int_equal(refused.len, 0);
    assert_true(refused.at - start < 50); /* at once, not after a worker or the deadline */
    assert_int_equal(mdp_broker_rejected(f->broker, "slow"), 1);
    assert_int_equal(accepted[3].calls, 0);

    /* an external client's request past the bound is dropped and counted */
    void *raw = s_raw_dealer(f);
    s_raw_send(raw, 4, "MDPC02", (size_t)6, "\x01", (size_t)1, "slow", (size_t)4, "c", (size_t)1);
    for (int i = 0; i < 20 && mdp_broker_rejected(f->broker, "slow") < 2; i++)
        stack_fixture_run_for(f, 10);
    assert_int_equal(mdp_broker_rejected(f->broker, "slow"), 2);
    assert_int_equal(mdp_broker_queue_depth(f->broker, "slow"), 3);

    for (int i = 0; i < 4; i++) {
        assert_true(stack_fixture_run_until(f, s_reply_arrived, &accepted[i], 2000));
        assert_int_equal(accepted[i].result, MDP_OK);
        assert_string_equal(accepted[i].body, "echo:a");
    }
    assert_int_equal(echo.requests, 4);
    zmq_msg_t nothing;
    zmq_msg_init(&nothing);
    assert_int_equal(zmq_msg_recv(&nothing, raw, ZMQ_DONTWAIT), -1);
    zmq_msg_close(&nothing);
    zmq_close(raw);

    /* drained: accepted again */
    reply again = {0};
    assert_non_null(mdp_broker_request(f->broker, "slow", (const uint8_t *)"d", 1, 5000, s_reply_cb, &again));
    /* behind it, one with a short deadline: it fails at its deadline and is never sent to the worker */
    reply late = {.loop = &f->loop};
    uv_update_time(&f->loop);
    start = uv_now(&f->loop);
    assert_non_null(mdp_broker_request(f->broker, "slow", (const uint8_t *)"e", 1, 60, s_reply_cb, &late));
    assert_int_equal(mdp_broker_queue_depth(f->broker, "slow"), 1);
    assert_true(stack_fixture_run_until(f, s_reply_arrived, &late, 1000));
    assert_int_equal(late.result, MDP_ERR_TIMEOUT);
    assert_true(late.at - start >= 55);
    assert_true(late.at - start < 150);
    assert_int_equal(mdp_broker_queue_depth(f->broker, "slow"), 0);
    assert_true(stack_fixture_run_until(f, s_reply_arrived, &again, 1000));
    assert_string_equal(again.body, "echo:d");
    stack_fixture_run_for(f, 200);
    assert_int_equal(echo.requests, 5); /* "e" never reached the worker */
    s_echo_stop(f, &echo);
}

static void test_cancel(void **state)
{
    stack_fixture *f = *state;
    reply queued = {0};
    mdp_pending *pending = mdp_broker_request(f->broker, "nobody", (const uint8_t *)"x", 1, 100, s_reply_cb, &queued);
    assert_non_null(pending);
    mdp_broker_cancel(pending);
    assert_int_equal(mdp_broker_queue_depth(f->broker, "nobody"), 0);
    /* in flight: the worker's late reply is discarded, the worker is free again afterwards */
    echo_service echo = {.delay_ms = 100};
    s_echo_start(f, &echo, "echo", 1);
    s_wait_workers(f, "echo", 1);
    reply flying = {0};
    pending = mdp_broker_request(f->broker, "echo", (const uint8_t *)"y", 1, 1000, s_reply_cb, &flying);
    assert_non_null(pending);
    stack_fixture_run_for(f, 30);
    assert_int_equal(echo.requests, 1);
    mdp_broker_cancel(pending);
    stack_fixture_run_for(f, 300);
    assert_int_equal(queued.calls, 0);
    assert_int_equal(flying.calls, 0);
    assert_int_equal(echo.reply_results, 0);
    reply next = {0};
    assert_non_null(mdp_broker_request(f->broker, "echo", (const uint8_t *)"z", 1, 1000, s_reply_cb, &next));
    assert_true(stack_fixture_run_until(f, s_reply_arrived, &next, 1000));
    assert_string_equal(next.body, "echo:z");
    /* cancelling a deferred MMI answer */
    reply mmi = {0};
    pending = mdp_broker_request(f->broker, "mmi.service", (const uint8_t *)"echo", 4, 100, s_reply_cb, &mmi);
    mdp_broker_cancel(pending);
    stack_fixture_run_for(f, 50);
    assert_int_equal(mmi.calls, 0);
    s_echo_stop(f, &echo);
}

static void test_worker_shutdown_disconnects(void **state)
{
    stack_fixture *f = *state;
    echo_service echo = {.delay_ms = 80};
    s_echo_start(f, &echo, "echo", 2);
    s_wait_workers(f, "echo", 2);
    reply r = {0};
    assert_non_null(mdp_broker_request(f->broker, "echo", (const uint8_t *)"last", 4, 2000, s_reply_cb, &r));
    stack_fixture_run_for(f, 20);
    assert_int_equal(mdp_worker_busy(echo.worker), 1);
    uv_update_time(&f->loop);
    uint64_t start = uv_now(&f->loop);
    mdp_worker_shutdown(echo.worker, 1000, s_done, &echo);
    /* the idle connection says DISCONNECT at once, the busy one after its reply */
    s_wait_workers(f, "echo", 1);
    assert_true(stack_fixture_run_until(f, s_service_done, &echo, 2000));
    assert_int_equal(echo.reply_results, 0); /* the FINAL went out before the DISCONNECT */
    assert_true(stack_fixture_run_until(f, s_reply_arrived, &r, 1000));
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.result, MDP_OK);
    assert_string_equal(r.body, "echo:last");
    s_wait_workers(f, "echo", 0);
    /* well before heartbeat expiry (300 ms): it was DISCONNECT, not silence */
    assert_true(uv_now(&f->loop) - start < 250);
}

static void test_client_timeout_then_late_reply(void **state)
{
    stack_fixture *f = *state;
    echo_service echo = {.delay_ms = 250};
    s_echo_start(f, &echo, "echo", 1);
    s_wait_workers(f, "echo", 1);
    mdp_client *client = mdp_client_new(&f->loop, f->zmq, f->endpoint, &f->curve);
    assert_non_null(client);
    reply first = {0};
    assert_int_equal(mdp_client_request(client, "echo", (const uint8_t *)"first", 5, 100, s_reply_cb, &first), 0);
    assert_true(stack_fixture_run_until(f, s_reply_arrived, &first, 1000));
    assert_int_equal(first.result, MDP_ERR_TIMEOUT);
    /* the second waits for the worker, which first finishes (and answers) the timed-out one */
    reply second = {0};
    assert_int_equal(mdp_client_request(client, "echo", (const uint8_t *)"second", 6, 2000, s_reply_cb, &second), 0);
    assert_true(stack_fixture_run_until(f, s_reply_arrived, &second, 2000));
    assert_int_equal(second.result, MDP_OK);
    assert_string_equal(second.body, "echo:second");
    assert_int_equal(echo.requests, 2);
    stack_fixture_run_for(f, 50);
    assert_int_equal(first.calls, 1);
    assert_int_equal(second.calls, 1);
    /* destroy with one pending: MDP_ERR_SHUTDOWN */
    reply pending = {0};
    assert_int_equal(mdp_client_request(client, "nobody", (const uint8_t *)"p", 1, 5000, s_reply_cb, &pending), 0);
    mdp_client_destroy(&client);
    assert_int_equal(pending.calls, 1);
    assert_int_equal(pending.result, MDP_ERR_SHUTDOWN);
    s_echo_stop(f, &echo);
}

static void test_broker_destroy_fails_pending(void **state)
{
    stack_fixture *f = *state;
    reply r = {0};
    assert_non_null(mdp_broker_request(f->broker, "nobody", (const uint8_t *)"x", 1, 5000, s_reply_cb, &r));
    void *raw = s_raw_dealer(f);
    s_raw_send(raw, 3, "MDPW02", (size_t)6, "\x01", (size_t)1, "rawsvc", (size_t)6);
    s_wait_workers(f, "rawsvc", 1);
    mdp_broker_destroy(&f->broker);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.result, MDP_ERR_SHUTDOWN);
    raw_message m;
    for (;;) {
        s_raw_expect(f, &m, raw, 1000);
        assert_int_equal(m.count, 2);
        if (m.data[1][0] != MDP_WORKER_HEARTBEAT)
            break;
    }
    assert_int_equal(m.data[1][0], MDP_WORKER_DISCONNECT);
    zmq_close(raw);
}

typedef struct {
    mdp_broker *broker;
    size_t count;
} own_broker_wait;

static bool s_own_workers_are(void *ud)
{
    own_broker_wait *w = ud;
    return mdp_broker_worker_count(w->broker, "multi") == w->count;
}

/* One broker bound on two endpoints (as the gateway with METODNET_BROKER_BIND: loopback for local
 * services, another address for other hosts): a worker on each registers and answers; a list with an
 * empty or over-long item, or one endpoint that cannot be bound, makes no broker. */
static void test_broker_binds_several_endpoints(void **state)
{
    stack_fixture *f = *state;
    char first[200], second[200], both[420];
    snprintf(first, sizeof first, "ipc://%s/multi-a", f->dir);
    snprintf(second, sizeof second, "ipc://%s/multi-b", f->dir);
    snprintf(both, sizeof both, "%s,%s", first, second);
    assert_true(mdp_broker_endpoints_valid(both));
    assert_true(mdp_broker_endpoints_valid(first));
    assert_false(mdp_broker_endpoints_valid(""));
    assert_false(mdp_broker_endpoints_valid("ipc://x,"));
    assert_false(mdp_broker_endpoints_valid(",ipc://x"));
    assert_false(mdp_broker_endpoints_valid("ipc://x,,ipc://y"));
    char long_item[MDP_BROKER_ENDPOINT_MAX + 2];
    memset(long_item, 'a', sizeof long_item - 1);
    long_item[sizeof long_item - 1] = '\0';
    assert_false(mdp_broker_endpoints_valid(long_item));
    assert_false(mdp_broker_endpoints_valid(NULL));

    mdp_broker *broker = mdp_broker_new(&f->loop, f->zmq, both, s_heartbeat);
    assert_non_null(broker);
    echo_service echo_a = {.loop = &f->loop}, echo_b = {.loop = &f->loop};
    echo_a.worker = mdp_worker_new(&f->loop, f->zmq, first, NULL, "multi", 1, s_heartbeat, s_echo_request, &echo_a);
    echo_b.worker = mdp_worker_new(&f->loop, f->zmq, second, NULL, "multi", 1, s_heartbeat, s_echo_request, &echo_b);
    assert_non_null(echo_a.worker);
    assert_non_null(echo_b.worker);
    own_broker_wait w = {broker, 2};
    assert_true(stack_fixture_run_until(f, s_own_workers_are, &w, 2000));
    reply r[4] = {{0}};
    for (int i = 0; i < 4; i++)
        assert_non_null(mdp_broker_request(broker, "multi", (const uint8_t *)"hi", 2, 2000, s_reply_cb, &r[i]));
    for (int i = 0; i < 4; i++) {
        assert_true(stack_fixture_run_until(f, s_reply_arrived, &r[i], 2000));
        assert_int_equal(r[i].result, MDP_OK);
        assert_string_equal(r[i].body, "echo:hi");
    }
    assert_true(echo_a.requests > 0 && echo_b.requests > 0); /* both endpoints carried requests */
    s_echo_stop(f, &echo_a);
    s_echo_stop(f, &echo_b);
    mdp_broker_destroy(&broker);

    /* the second endpoint cannot be bound: no broker, and the first is free again afterwards */
    char bad[420];
    snprintf(bad, sizeof bad, "%s,tcp://256.0.0.1:1", first);
    errno = 0;
    assert_null(mdp_broker_new(&f->loop, f->zmq, bad, s_heartbeat));
    assert_int_not_equal(errno, 0);
    errno = 0;
    assert_null(mdp_broker_new(&f->loop, f->zmq, "ipc://x,", s_heartbeat));
    assert_int_equal(errno, EINVAL);
    broker = mdp_broker_new(&f->loop, f->zmq, first, s_heartbeat);
    assert_non_null(broker);
    mdp_broker_destroy(&broker);
    stack_fixture_run_for(f, 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heartbeat_from_env),
        cmocka_unit_test_setup_teardown(test_inprocess_echo, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_two_workers_share_load, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_silent_worker_is_lost, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_frames_dropped, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_worker_heartbeat_gets_disconnect, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_mmi, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_deadline_without_workers, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_queue_bound_and_deadlines, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cancel, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_worker_shutdown_disconnects, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_client_timeout_then_late_reply, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_broker_destroy_fails_pending, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_broker_binds_several_endpoints, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
