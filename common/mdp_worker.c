/* mdp_worker — MDP/0.2 worker side (ZeroMQ RFC 18) on libuv: `concurrency` DEALER connections, each
 * a complete MDP worker (READY, heartbeats both ways, broker liveness, reconnect with backoff and
 * jitter on broker silence or DISCONNECT: the socket is closed and a new one sends READY again).
 *
 * Invariants: a connection is busy from a REQUEST until mdp_worker_reply; every reset of a
 * connection bumps its generation, and a reply whose request came from an older generation is
 * dropped (the broker has failed that request already). Outstanding requests stay on
 * worker->requests until answered; when the worker is freed they are detached (reply returns -1).
 * The worker must not be used after mdp_worker_shutdown's done callback.
 */
#include "mdp_worker.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "process_health.h"
#include "zmq_loop.h"

#define S_DISCONNECT_LINGER_MS 500
#define S_BACKOFF_MAX_MS       30000
#define S_CONCURRENCY_MAX      1024

typedef struct s_connection {
    mdp_worker *worker;
    unsigned index;
    zmq_loop *socket; /* NULL while waiting to reconnect, and once closed */
    uint32_t generation;
    int busy;
    int closed; /* finished for good (shutdown) */
    uint64_t expiry;
    uint64_t next_heartbeat;
    uint64_t reconnect_at;
    uint32_t backoff_ms;
} s_connection;

struct mdp_worker_request {
    mdp_worker *worker; /* NULL once the worker is gone */
    unsigned index;
    uint32_t generation;
    mdp_worker_request *prev;
    mdp_worker_request *next;
    uint8_t address[MDP_ADDRESS_MAX];
    size_t address_len;
};

struct mdp_worker {
    uv_loop_t *loop;
    void *context;
    char *endpoint;
    mdp_curve_keys curve;
    int has_curve;
    char service[MDP_SERVICE_NAME_MAX + 1];
    mdp_heartbeat heartbeat;
    mdp_worker_request_cb cb;
    void *ud;
    unsigned concurrency;
    s_connection *connections;
    uv_timer_t tick;
    size_t outstanding;
    mdp_worker_request *requests;
    uint64_t random;
    int shutting_down;
    int finished;
    uint64_t grace_deadline;
    void (*done)(void *ud);
    void *done_ud;
};

static const uint8_t s_cmd_ready = MDP_WORKER_READY;
static const uint8_t s_cmd_final = MDP_WORKER_FINAL;
static const uint8_t s_cmd_heartbeat = MDP_WORKER_HEARTBEAT;
static const uint8_t s_cmd_disconnect = MDP_WORKER_DISCONNECT;

static void s_on_message(zmq_loop *zl, zmq_msg_t *frames, size_t count, void *ud);

static uint32_t s_backoff_initial(const mdp_worker *worker)
{
    return worker->heartbeat.interval_ms < 10 ? 10 : worker->heartbeat.interval_ms;
}

/* xorshift64: jitter only, no need for quality. */
static uint64_t s_random(mdp_worker *worker)
{
    uint64_t x = worker->random;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    worker->random = x;
    return x;
}

static int s_send_command(s_connection *conn, const uint8_t *command)
{
    zmq_loop_frame frames[2] = {{MDP_WORKER, 6}, {command, 1}};
    return zmq_loop_send(conn->socket, frames, 2);
}

/* Opens a fresh DEALER to the broker and sends READY. Returns 0 or -1 (errno set). */
static int s_connect(s_connection *conn)
{
    mdp_worker *worker = conn->worker;
    void *socket = zmq_socket(worker->context, ZMQ_DEALER);
    if (!socket)
        return -1;
    int linger = 0;
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    if (mdp_curve_apply(socket, worker->has_curve ? &worker->curve : NULL) != 0 ||
        zmq_connect(socket, worker->endpoint) != 0) {
        int saved = errno;
        zmq_close(socket);
        errno = saved;
        return -1;
    }
    conn->socket = zmq_loop_new(worker->loop, socket, s_on_message, conn);
    if (!conn->socket)
        return -1;
    zmq_loop_frame ready[3] = {{MDP_WORKER, 6}, {&s_cmd_ready, 1}, {worker->service, strlen(worker->service)}};
    zmq_loop_send(conn->socket, ready, 3);
    uint64_t now = uv_now(worker->loop);
    conn->expiry = now + (uint64_t)worker->heartbeat.interval_ms * worker->heartbeat.liveness;
    conn->next_heartbeat = now + worker->heartbeat.interval_ms;
    return 0;
}

/* Drops the connection (the broker is silent, said DISCONNECT, or the socket failed) and schedules
 * a new one after backoff plus up to 50% jitter. During shutdown the connection just ends. */
static void s_reset(s_connection *conn)
{
    mdp_worker *worker = conn->worker;
    zmq_loop_close(&conn->socket, 0);
    conn->generation++;
    conn->busy = 0;
    if (worker->shutting_down) {
        conn->closed = 1;
        return;
    }
    uint32_t delay = conn->backoff_ms + (uint32_t)(s_random(worker) % (conn->backoff_ms / 2 + 1));
    conn->reconnect_at = uv_now(worker->loop) + delay;
    uint64_t next = (uint64_t)conn->backoff_ms * 2;
    conn->backoff_ms = (uint32_t)(next > S_BACKOFF_MAX_MS ? S_BACKOFF_MAX_MS : next);
    if (conn->backoff_ms < s_backoff_initial(worker))
        conn->backoff_ms = s_backoff_initial(worker);
}

static void s_on_tick_close(uv_handle_t *handle)
{
    mdp_worker *worker = handle->data;
    for (mdp_worker_request *req = worker->requests; req; req = req->next)
        req->worker = NULL; /* answered later: freed by mdp_worker_reply, which returns -1 */
    void (*done)(void *) = worker->done;
    void *done_ud = worker->done_ud;
    free(worker->connections);
    free(worker->endpoint);
    sodium_memzero(&worker->curve, sizeof worker->curve);
    free(worker);
    if (done)
        done(done_ud);
}

/* During shutdown: every connection that is idle (or whose grace has run out) says DISCONNECT and
 * closes; once all are closed the worker is freed from the timer's close callback. */
static void s_shutdown_progress(mdp_worker *worker)
{
    uint64_t now = uv_now(worker->loop);
    int open = 0;
    for (unsigned i = 0; i < worker->concurrency; i++) {
        s_connection *conn = &worker->connections[i];
        if (conn->closed)
            continue;
        if (conn->socket && conn->busy && now < worker->grace_deadline) {
            open++;
            continue;
        }
        if (conn->socket)
            s_send_command(conn, &s_cmd_disconnect);
        zmq_loop_close(&conn->socket, S_DISCONNECT_LINGER_MS);
        conn->generation++;
        conn->busy = 0;
        conn->closed = 1;
    }
    if (open == 0 && !worker->finished) {
        worker->finished = 1;
        uv_timer_stop(&worker->tick);
        uv_close((uv_handle_t *)&worker->tick, s_on_tick_close);
    }
}

static void s_on_tick(uv_timer_t *timer)
{
    mdp_worker *worker = timer->data;
    uint64_t now = uv_now(worker->loop);
    for (unsigned i = 0; i < worker->concurrency; i++) {
        s_connection *conn = &worker->connections[i];
        if (conn->closed)
            continue;
        if (!conn->socket) {
            if (!worker->shutting_down && now >= conn->reconnect_at && s_connect(conn) != 0)
                s_reset(conn); /* try again later */
            continue;
        }
        if (now >= conn->expiry) {
            s_reset(conn);
            continue;
        }
        if (now >= conn->next_heartbeat) {
            conn->next_heartbeat = now + worker->heartbeat.interval_ms;
            s_send_command(conn, &s_cmd_heartbeat);
        }
    }
    if (worker->shutting_down)
        s_shutdown_progress(worker);
}

/* ["MDPW02"] [command] ... from the broker. Anything malformed is ignored. */
static void s_on_message(zmq_loop *zl, zmq_msg_t *frames, size_t count, void *ud)
{
    (void)zl;
    s_connection *conn = ud;
    mdp_worker *worker = conn->worker;
    mdp_message m;
    mdp_message_kind kind = mdp_decode_at_worker(frames, count, &m);
    if (kind == MDP_MESSAGE_INVALID)
        return;
    conn->expiry = uv_now(worker->loop) + (uint64_t)worker->heartbeat.interval_ms * worker->heartbeat.liveness;
    conn->backoff_ms = s_backoff_initial(worker);
    process_health_note_broker_heard();
    if (kind == MDP_MESSAGE_DISCONNECT) {
        s_reset(conn);
        if (worker->shutting_down)
            s_shutdown_progress(worker);
        return;
    }
    if (kind != MDP_MESSAGE_REQUEST)
        return; /* HEARTBEAT (liveness already refreshed) or junk */
    if (conn->busy || worker->shutting_down)
        return; /* a conforming broker never does this; there is no way to refuse */
    mdp_worker_request *req = calloc(1, sizeof *req);
    size_t len = 0;
    uint8_t *owned = NULL;
    const uint8_t *body = req ? mdp_join_body(frames, m.body, count, &len, &owned) : NULL;
    if (!body) {
        free(req);
        return; /* out of memory: the broker's deadline fails the request */
    }
    req->worker = worker;
    req->index = conn->index;
    req->generation = conn->generation;
    memcpy(req->address, m.address, m.address_len);
    req->address_len = m.address_len;
    req->next = worker->requests;
    if (worker->requests)
        worker->requests->prev = req;
    worker->requests = req;
    worker->outstanding++;
    conn->busy = 1;
    worker->cb(worker, req, body, len, worker->ud);
    free(owned);
}

mdp_worker *mdp_worker_new(uv_loop_t *loop, void *zmq_context, const char *broker_endpoint, const mdp_curve_keys *curve,
                           const char *service, unsigned concurrency, mdp_heartbeat heartbeat, mdp_worker_request_cb cb,
                           void *ud)
{
    size_t service_len = service ? strlen(service) : 0;
    if (!loop || !zmq_context || !broker_endpoint || !cb || service_len == 0 || service_len > MDP_SERVICE_NAME_MAX ||
        concurrency == 0 || concurrency > S_CONCURRENCY_MAX || heartbeat.interval_ms == 0 || heartbeat.liveness == 0) {
        errno = EINVAL;
        return NULL;
    }
    mdp_worker *worker = calloc(1, sizeof *worker);
    if (!worker || !(worker->connections = calloc(concurrency, sizeof *worker->connections)) ||
        !(worker->endpoint = strdup(broker_endpoint))) {
        if (worker)
            free(worker->connections);
        free(worker);
        errno = ENOMEM;
        return NULL;
    }
    worker->loop = loop;
    worker->context = zmq_context;
    if (curve) {
        worker->curve = *curve;
        worker->has_curve = 1;
    }
    memcpy(worker->service, service, service_len + 1);
    worker->heartbeat = heartbeat;
    worker->cb = cb;
    worker->ud = ud;
    worker->concurrency = concurrency;
    worker->random = uv_hrtime() ^ (uint64_t)(uintptr_t)worker ^ 0x9e3779b97f4a7c15ULL;
    for (unsigned i = 0; i < concurrency; i++) {
        s_connection *conn = &worker->connections[i];
        conn->worker = worker;
        conn->index = i;
        conn->backoff_ms = s_backoff_initial(worker);
        if (s_connect(conn) != 0) { /* e.g. a malformed endpoint: fail now, not forever later */
            int saved = errno;
            for (unsigned j = 0; j <= i; j++)
                zmq_loop_close(&worker->connections[j].socket, 0);
            free(worker->connections);
            free(worker->endpoint);
            free(worker);
            errno = saved;
            return NULL;
        }
    }
    uv_timer_init(loop, &worker->tick);
    worker->tick.data = worker;
    uint64_t period = heartbeat.interval_ms / 4;
    period = period < 5 ? 5 : period > 100 ? 100 : period;
    uv_timer_start(&worker->tick, s_on_tick, period, period);
    return worker;
}

int mdp_worker_reply(mdp_worker_request *req, const uint8_t *body, size_t len)
{
    if (!req)
        return -1;
    mdp_worker *worker = req->worker;
    if (!worker) {
        free(req);
        return -1;
    }
    if (req->prev)
        req->prev->next = req->next;
    else
        worker->requests = req->next;
    if (req->next)
        req->next->prev = req->prev;
    worker->outstanding--;
    s_connection *conn = &worker->connections[req->index];
    int rc = -1;
    if (conn->socket && conn->busy && conn->generation == req->generation) {
        zmq_loop_frame frames[5] = {
            {MDP_WORKER, 6}, {&s_cmd_final, 1}, {req->address, req->address_len}, {"", 0}, {body, body ? len : 0}};
        rc = zmq_loop_send(conn->socket, frames, 5) == 0 ? 0 : -1;
        conn->busy = 0;
    }
    free(req);
    if (worker->shutting_down && !worker->finished)
        s_shutdown_progress(worker);
    return rc;
}

size_t mdp_worker_busy(const mdp_worker *worker)
{
    return worker ? worker->outstanding : 0;
}

void mdp_worker_shutdown(mdp_worker *worker, uint32_t grace_ms, void (*done)(void *ud), void *ud)
{
    if (!worker || worker->shutting_down)
        return;
    worker->shutting_down = 1;
    worker->done = done;
    worker->done_ud = ud;
    worker->grace_deadline = uv_now(worker->loop) + grace_ms;
    s_shutdown_progress(worker);
}
