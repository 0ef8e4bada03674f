/* mdp_broker — MDP/0.2 broker (ZeroMQ RFC 18) with MMI (RFC 8) on one ROUTER socket and libuv.
 *
 * Structures and invariants:
 * - every worker is on broker->workers, ordered by expiry (a worker moves to the tail whenever it
 *   is heard from), so the dead ones are at the head; an idle worker is also on its service's idle
 *   list, least recently used first; a busy worker holds exactly one request (worker->request);
 * - a request is QUEUED (on its service's FIFO queue), IN_FLIGHT (held by a worker), ANSWERED
 *   (an MMI answer to an in-process request, waiting on broker->answered for the idle handle, so the
 *   callback is never called from inside mdp_broker_request; a request refused because its service's
 *   queue is full waits there too, with MDP_ERR_OVERLOADED) or ORPHAN (still held by a worker but
 *   its requester is gone: cancelled or timed out; the worker's late FINAL is discarded);
 * - a service's queue holds at most queue_max requests (0 = no bound); one more is refused at once
 *   and counted (service->rejected), never queued;
 * - QUEUED and IN_FLIGHT requests are on broker->deadlines, ordered by deadline, swept by a timer;
 * - in-process requests carry a reserved client address [0x00 'M' <8-byte id>] that the worker
 *   echoes back; replies are matched against the request the worker holds, never trusted blindly.
 * Callbacks run last in every code path; loops that may call them restart from the list head.
 * The broker must not be destroyed from inside one of its own callbacks.
 *
 * External MDP clients get no error frame (MDP/0.2 has none): a request of theirs that times out
 * or whose worker dies is dropped, and the client's own deadline handles it.
 */
#include "mdp_broker.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "zmq_loop.h"

#define S_IDENTITY_MAX              255
#define S_CLOSE_LINGER_MS           200
#define S_DEFAULT_CLIENT_TIMEOUT_MS 30000

typedef struct s_link {
    struct s_link *prev;
    struct s_link *next;
} s_link;

#define s_container(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static void s_list_init(s_link *head)
{
    head->prev = head->next = head;
}

static int s_list_empty(const s_link *head)
{
    return head->next == head;
}

static void s_list_insert_before(s_link *at, s_link *node)
{
    node->prev = at->prev;
    node->next = at;
    at->prev->next = node;
    at->prev = node;
}

/* Unlinks node (a no-op on a self-linked node) and leaves it self-linked. */
static void s_list_remove(s_link *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->prev = node->next = node;
}

typedef struct s_service {
    s_link link; /* broker->services */
    char name[MDP_SERVICE_NAME_MAX + 1];
    s_link idle;  /* idle workers, least recently used first */
    s_link queue; /* QUEUED requests, oldest first */
    size_t workers;
    size_t busy;
    size_t queued;
    uint64_t rejected; /* requests refused because the queue was full */
    int registered;    /* a worker has registered it at some time: kept for metrics */
} s_service;

typedef struct s_worker {
    s_link link;      /* broker->workers, ordered by expiry */
    s_link idle_link; /* service->idle while idle, self-linked otherwise */
    uint8_t identity[S_IDENTITY_MAX];
    size_t identity_len;
    s_service *service;
    mdp_pending *request;
    uint64_t expiry;
} s_worker;

typedef enum { S_QUEUED, S_IN_FLIGHT, S_ANSWERED, S_ORPHAN } s_state;

struct mdp_pending {
    mdp_broker *broker;
    s_service *service;
    s_worker *worker;
    s_link queue_link;    /* service->queue (QUEUED) or broker->answered (ANSWERED) */
    s_link deadline_link; /* broker->deadlines while QUEUED or IN_FLIGHT */
    s_state state;
    int internal;
    uint8_t address[S_IDENTITY_MAX];
    size_t address_len;
    mdp_reply_cb cb;
    void *ud;
    uint64_t deadline;
    zmq_msg_t *body;
    size_t body_count;
    char answer[4]; /* MMI answer of an ANSWERED request */
    int result;     /* result of an ANSWERED request: MDP_OK (the MMI answer) or MDP_ERR_OVERLOADED */
};

struct mdp_broker {
    uv_loop_t *loop;
    zmq_loop *socket;
    uv_timer_t tick;
    uv_idle_t answer_idle;
    int open_handles;
    mdp_heartbeat heartbeat;
    uint32_t client_timeout_ms;
    size_t queue_max; /* per service; 0 = no bound */
    uint64_t next_heartbeat;
    uint64_t next_id;
    uint64_t dropped;
    int destroying;
    s_link services;
    s_link workers;
    s_link deadlines;
    s_link answered;
};

static const uint8_t s_cmd_request = MDP_WORKER_REQUEST;
static const uint8_t s_cmd_heartbeat = MDP_WORKER_HEARTBEAT;
static const uint8_t s_cmd_disconnect = MDP_WORKER_DISCONNECT;
static const uint8_t s_cmd_client_partial = MDP_CLIENT_PARTIAL;
static const uint8_t s_cmd_client_final = MDP_CLIENT_FINAL;

/* A service name is 1..MDP_SERVICE_NAME_MAX printable ASCII bytes (no spaces or controls). */
static int s_service_name_valid(const void *data, size_t len)
{
    const unsigned char *bytes = data;
    if (len == 0 || len > MDP_SERVICE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (bytes[i] <= 0x20 || bytes[i] >= 0x7f)
            return 0;
    return 1;
}

static int s_frame_equals(zmq_msg_t *frame, const void *data, size_t len)
{
    return zmq_msg_size(frame) == len && (len == 0 || memcmp(zmq_msg_data(frame), data, len) == 0);
}

static uint8_t s_frame_byte(zmq_msg_t *frame)
{
    return *(const uint8_t *)zmq_msg_data(frame);
}

static s_service *s_service_find(const mdp_broker *broker, const void *name, size_t len)
{
    for (s_link *it = broker->services.next; it != &broker->services; it = it->next) {
        s_service *service = s_container(it, s_service, link);
        if (strlen(service->name) == len && memcmp(service->name, name, len) == 0)
            return service;
    }
    return NULL;
}

/* name must be valid (s_service_name_valid). NULL when out of memory. */
static s_service *s_service_require(mdp_broker *broker, const void *name, size_t len)
{
    s_service *service = s_service_find(broker, name, len);
    if (service)
        return service;
    service = calloc(1, sizeof *service);
    if (!service)
        return NULL;
    memcpy(service->name, name, len);
    service->name[len] = '\0';
    s_list_init(&service->idle);
    s_list_init(&service->queue);
    s_list_insert_before(&broker->services, &service->link);
    return service;
}

static s_worker *s_worker_find(const mdp_broker *broker, const void *identity, size_t len)
{
    for (s_link *it = broker->workers.next; it != &broker->workers; it = it->next) {
        s_worker *worker = s_container(it, s_worker, link);
        if (worker->identity_len == len && memcmp(worker->identity, identity, len) == 0)
            return worker;
    }
    return NULL;
}

static int s_send_to_worker(mdp_broker *broker, const uint8_t *identity, size_t identity_len, const uint8_t *cmd)
{
    zmq_loop_frame frames[3] = {{identity, identity_len}, {MDP_WORKER, 6}, {cmd, 1}};
    return zmq_loop_send(broker->socket, frames, 3);
}

/* Inserts req into broker->deadlines keeping deadline order (usually at the tail). */
static void s_deadline_insert(mdp_broker *broker, mdp_pending *req)
{
    s_link *at = broker->deadlines.prev;
    while (at != &broker->deadlines && s_container(at, mdp_pending, deadline_link)->deadline > req->deadline)
        at = at->prev;
    s_list_insert_before(at->next, &req->deadline_link);
}

/* Unlinks req from every broker structure (a holding worker stays busy) and frees it. */
static void s_request_destroy(mdp_pending *req)
{
    if (req->state == S_QUEUED)
        req->service->queued--;
    s_list_remove(&req->queue_link);
    s_list_remove(&req->deadline_link);
    if (req->worker)
        req->worker->request = NULL;
    for (size_t i = 0; i < req->body_count; i++)
        zmq_msg_close(&req->body[i]);
    free(req->body);
    free(req);
}

/* Ends req: frees it, then tells an in-process requester (external ones get nothing). */
static void s_request_complete(mdp_pending *req, int result, const uint8_t *body, size_t len)
{
    mdp_reply_cb cb = req->internal ? req->cb : NULL;
    void *ud = req->ud;
    s_request_destroy(req);
    if (cb)
        cb(result, body, len, ud);
}

/* Deadline passed or the broker stops. A request a worker still holds becomes an orphan (the worker
 * stays busy until its FINAL, which is discarded); any other is freed. */
static void s_request_fail(mdp_pending *req, int result)
{
    if (req->state == S_IN_FLIGHT && req->worker) {
        mdp_reply_cb cb = req->internal ? req->cb : NULL;
        void *ud = req->ud;
        s_list_remove(&req->deadline_link);
        req->cb = NULL;
        req->state = S_ORPHAN;
        if (cb)
            cb(result, NULL, 0, ud);
        return;
    }
    s_request_complete(req, result, NULL, 0);
}

static void s_worker_touch(mdp_broker *broker, s_worker *worker)
{
    worker->expiry = uv_now(broker->loop) + (uint64_t)broker->heartbeat.interval_ms * broker->heartbeat.liveness;
    s_list_remove(&worker->link);
    s_list_insert_before(&broker->workers, &worker->link);
}

/* Removes worker (optionally telling it DISCONNECT); its request, if any, fails at once with
 * MDP_ERR_WORKER_LOST. May call a callback, as its last action. */
static void s_worker_delete(mdp_broker *broker, s_worker *worker, int send_disconnect)
{
    if (send_disconnect)
        s_send_to_worker(broker, worker->identity, worker->identity_len, &s_cmd_disconnect);
    s_list_remove(&worker->link);
    s_list_remove(&worker->idle_link);
    worker->service->workers--;
    mdp_pending *req = worker->request;
    if (req)
        worker->service->busy--;
    free(worker);
    if (!req)
        return;
    req->worker = NULL;
    if (req->state == S_ORPHAN)
        s_request_destroy(req);
    else
        s_request_complete(req, MDP_ERR_WORKER_LOST, NULL, 0);
}

/* Hands queued requests of service to its idle workers, least recently used first. Calls no
 * callback: a worker found gone while sending holds nothing and is removed quietly. */
static void s_dispatch(mdp_broker *broker, s_service *service)
{
    while (!s_list_empty(&service->queue) && !s_list_empty(&service->idle)) {
        s_worker *worker = s_container(service->idle.next, s_worker, idle_link);
        mdp_pending *req = s_container(service->queue.next, mdp_pending, queue_link);
        zmq_loop_frame frames[5 + ZMQ_LOOP_MAX_FRAMES];
        size_t count = 0;
        frames[count++] = (zmq_loop_frame){worker->identity, worker->identity_len};
        frames[count++] = (zmq_loop_frame){MDP_WORKER, 6};
        frames[count++] = (zmq_loop_frame){&s_cmd_request, 1};
        frames[count++] = (zmq_loop_frame){req->address, req->address_len};
        frames[count++] = (zmq_loop_frame){"", 0};
        for (size_t i = 0; i < req->body_count; i++)
            frames[count++] = (zmq_loop_frame){zmq_msg_data(&req->body[i]), zmq_msg_size(&req->body[i])};
        if (zmq_loop_send(broker->socket, frames, count) != 0) {
            s_worker_delete(broker, worker, 0); /* holds no request: no callback */
            continue;
        }
        s_list_remove(&worker->idle_link);
        s_list_remove(&req->queue_link);
        service->queued--;
        service->busy++;
        worker->request = req;
        req->worker = worker;
        req->state = S_IN_FLIGHT;
    }
}

/* RFC 8: "mmi.service" answers "200" when the service named by the body has a worker, else "404";
 * every other "mmi.*" service answers "501". */
static const char *s_mmi_answer(const mdp_broker *broker, const char *service, const void *body, size_t len)
{
    if (strcmp(service, "mmi.service") != 0)
        return "501";
    if (!s_service_name_valid(body, len))
        return "404";
    s_service *target = s_service_find(broker, body, len);
    return target && target->workers > 0 ? "200" : "404";
}

static int s_is_mmi(const void *name, size_t len)
{
    return len >= 4 && memcmp(name, "mmi.", 4) == 0;
}

/* A request for service would have to wait and its queue is at the bound: it is refused (and counted). */
static int s_refuse_when_full(const mdp_broker *broker, s_service *service)
{
    if (broker->queue_max == 0 || service->queued < broker->queue_max || !s_list_empty(&service->idle))
        return 0;
    service->rejected++;
    return 1;
}

/* [client] ["MDPC02"] [0x01] [service] [body]+ */
static void s_client_message(mdp_broker *broker, zmq_msg_t *frames, size_t count)
{
    if (count < 5 || zmq_msg_size(&frames[2]) != 1 || s_frame_byte(&frames[2]) != MDP_CLIENT_REQUEST ||
        !s_service_name_valid(zmq_msg_data(&frames[3]), zmq_msg_size(&frames[3]))) {
        broker->dropped++;
        return;
    }
    const void *name = zmq_msg_data(&frames[3]);
    size_t name_len = zmq_msg_size(&frames[3]);
    if (s_is_mmi(name, name_len)) {
        char service[MDP_SERVICE_NAME_MAX + 1];
        memcpy(service, name, name_len);
        service[name_len] = '\0';
        const char *answer = s_mmi_answer(broker, service, zmq_msg_data(&frames[4]), zmq_msg_size(&frames[4]));
        zmq_loop_frame reply[5] = {{zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0])},
                                   {MDP_CLIENT, 6},
                                   {&s_cmd_client_final, 1},
                                   {name, name_len},
                                   {answer, 3}};
        zmq_loop_send(broker->socket, reply, 5); /* a client gone meanwhile is no concern */
        return;
    }
    s_service *service = s_service_require(broker, name, name_len);
    if (service && s_refuse_when_full(broker, service))
        return; /* MDP/0.2 has no error reply: the client's own deadline covers it */
    mdp_pending *req = calloc(1, sizeof *req);
    zmq_msg_t *body = calloc(count - 4, sizeof *body);
    if (!service || !req || !body) {
        free(req);
        free(body);
        broker->dropped++;
        return;
    }
    req->broker = broker;
    req->service = service;
    req->state = S_QUEUED;
    memcpy(req->address, zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]));
    req->address_len = zmq_msg_size(&frames[0]);
    req->body = body;
    req->body_count = count - 4;
    for (size_t i = 0; i < req->body_count; i++) {
        zmq_msg_init(&body[i]);
        zmq_msg_move(&body[i], &frames[4 + i]);
    }
    req->deadline = uv_now(broker->loop) + broker->client_timeout_ms;
    s_list_insert_before(&service->queue, &req->queue_link);
    service->queued++;
    s_deadline_insert(broker, req);
    s_dispatch(broker, service);
}

/* Concatenates frames[first..count) into one buffer (borrowed frame data when there is just one);
 * *owned is set when the caller must free the result. NULL only when out of memory. */
static const uint8_t *s_join_frames(zmq_msg_t *frames, size_t first, size_t count, size_t *len, uint8_t **owned)
{
    *owned = NULL;
    if (count - first == 1) {
        *len = zmq_msg_size(&frames[first]);
        return zmq_msg_data(&frames[first]);
    }
    size_t total = 0;
    for (size_t i = first; i < count; i++)
        total += zmq_msg_size(&frames[i]);
    uint8_t *buffer = malloc(total ? total : 1);
    if (!buffer)
        return NULL;
    size_t at = 0;
    for (size_t i = first; i < count; i++) {
        size_t size = zmq_msg_size(&frames[i]);
        if (size)
            memcpy(buffer + at, zmq_msg_data(&frames[i]), size);
        at += size;
    }
    *len = total;
    *owned = buffer;
    return buffer;
}

/* PARTIAL/FINAL: [worker] ["MDPW02"] [cmd] [client] [] [body]+ from a worker holding a request. */
static void s_worker_reply(mdp_broker *broker, s_worker *worker, uint8_t command, zmq_msg_t *frames, size_t count)
{
    mdp_pending *req = worker->request;
    if (!req || !s_frame_equals(&frames[3], req->address, req->address_len)) {
        broker->dropped++;
        return;
    }
    s_worker_touch(broker, worker);
    if (command == MDP_WORKER_PARTIAL) {
        if (!req->internal && req->state == S_IN_FLIGHT) {
            zmq_loop_frame reply[4 + ZMQ_LOOP_MAX_FRAMES];
            size_t n = 0;
            reply[n++] = (zmq_loop_frame){req->address, req->address_len};
            reply[n++] = (zmq_loop_frame){MDP_CLIENT, 6};
            reply[n++] = (zmq_loop_frame){&s_cmd_client_partial, 1};
            reply[n++] = (zmq_loop_frame){req->service->name, strlen(req->service->name)};
            for (size_t i = 5; i < count; i++)
                reply[n++] = (zmq_loop_frame){zmq_msg_data(&frames[i]), zmq_msg_size(&frames[i])};
            zmq_loop_send(broker->socket, reply, n);
        }
        return; /* in-process requesters see only the FINAL */
    }
    s_service *service = worker->service;
    worker->request = NULL;
    req->worker = NULL;
    service->busy--;
    s_list_insert_before(&service->idle, &worker->idle_link);
    if (req->state == S_ORPHAN) {
        s_request_destroy(req);
        s_dispatch(broker, service);
        return;
    }
    if (!req->internal) {
        zmq_loop_frame reply[4 + ZMQ_LOOP_MAX_FRAMES];
        size_t n = 0;
        reply[n++] = (zmq_loop_frame){req->address, req->address_len};
        reply[n++] = (zmq_loop_frame){MDP_CLIENT, 6};
        reply[n++] = (zmq_loop_frame){&s_cmd_client_final, 1};
        reply[n++] = (zmq_loop_frame){service->name, strlen(service->name)};
        for (size_t i = 5; i < count; i++)
            reply[n++] = (zmq_loop_frame){zmq_msg_data(&frames[i]), zmq_msg_size(&frames[i])};
        zmq_loop_send(broker->socket, reply, n);
        s_request_destroy(req);
        s_dispatch(broker, service);
        return;
    }
    size_t len = 0;
    uint8_t *owned = NULL;
    const uint8_t *body = s_join_frames(frames, 5, count, &len, &owned);
    s_dispatch(broker, service);
    if (!body) {
        s_request_complete(req, MDP_ERR_WORKER_LOST, NULL, 0); /* out of memory: the reply is lost */
        return;
    }
    s_request_complete(req, MDP_OK, body, len);
    free(owned);
}

/* [worker] ["MDPW02"] [command] ... */
static void s_worker_message(mdp_broker *broker, zmq_msg_t *frames, size_t count)
{
    if (zmq_msg_size(&frames[2]) != 1) {
        broker->dropped++;
        return;
    }
    const uint8_t *identity = zmq_msg_data(&frames[0]);
    size_t identity_len = zmq_msg_size(&frames[0]);
    uint8_t command = s_frame_byte(&frames[2]);
    s_worker *worker = s_worker_find(broker, identity, identity_len);
    switch (command) {
    case MDP_WORKER_READY: {
        if (count != 4 || !s_service_name_valid(zmq_msg_data(&frames[3]), zmq_msg_size(&frames[3]))) {
            broker->dropped++;
            return;
        }
        if (worker) { /* a second READY is a protocol error */
            s_worker_delete(broker, worker, 1);
            return;
        }
        const void *name = zmq_msg_data(&frames[3]);
        size_t name_len = zmq_msg_size(&frames[3]);
        if (s_is_mmi(name, name_len)) { /* RFC 8: the broker owns "mmi.*" */
            s_send_to_worker(broker, identity, identity_len, &s_cmd_disconnect);
            return;
        }
        s_service *service = s_service_require(broker, name, name_len);
        worker = calloc(1, sizeof *worker);
        if (!service || !worker) {
            free(worker);
            broker->dropped++;
            return;
        }
        memcpy(worker->identity, identity, identity_len);
        worker->identity_len = identity_len;
        worker->service = service;
        s_list_init(&worker->link);
        s_list_init(&worker->idle_link);
        service->registered = 1;
        service->workers++;
        s_worker_touch(broker, worker);
        s_list_insert_before(&service->idle, &worker->idle_link);
        s_dispatch(broker, service);
        return;
    }
    case MDP_WORKER_HEARTBEAT:
        if (count != 3) {
            broker->dropped++;
        } else if (worker) {
            s_worker_touch(broker, worker);
        } else {
            s_send_to_worker(broker, identity, identity_len, &s_cmd_disconnect);
        }
        return;
    case MDP_WORKER_DISCONNECT:
        if (count != 3)
            broker->dropped++;
        else if (worker)
            s_worker_delete(broker, worker, 0);
        return;
    case MDP_WORKER_PARTIAL:
    case MDP_WORKER_FINAL: {
        size_t address_len = count >= 6 ? zmq_msg_size(&frames[3]) : 0;
        if (count < 6 || address_len == 0 || address_len > S_IDENTITY_MAX || zmq_msg_size(&frames[4]) != 0) {
            broker->dropped++;
            return;
        }
        if (!worker) {
            s_send_to_worker(broker, identity, identity_len, &s_cmd_disconnect);
            return;
        }
        s_worker_reply(broker, worker, command, frames, count);
        return;
    }
    default: /* unknown, or a broker-to-worker command */
        broker->dropped++;
        return;
    }
}

static void s_on_message(zmq_loop *zl, zmq_msg_t *frames, size_t count, void *ud)
{
    (void)zl;
    mdp_broker *broker = ud;
    size_t identity_len = zmq_msg_size(&frames[0]);
    if (count < 3 || identity_len == 0 || identity_len > S_IDENTITY_MAX) {
        broker->dropped++;
        return;
    }
    if (s_frame_equals(&frames[1], MDP_CLIENT, 6))
        s_client_message(broker, frames, count);
    else if (s_frame_equals(&frames[1], MDP_WORKER, 6))
        s_worker_message(broker, frames, count);
    else
        broker->dropped++;
}

/* Periodic sweep: dead workers (their requests fail at once), expired requests, heartbeats, and
 * services nobody registered that have nothing queued any more. */
static void s_on_tick(uv_timer_t *timer)
{
    mdp_broker *broker = timer->data;
    uint64_t now = uv_now(broker->loop);
    while (!s_list_empty(&broker->workers)) {
        s_worker *worker = s_container(broker->workers.next, s_worker, link);
        if (worker->expiry > now)
            break;
        s_worker_delete(broker, worker, 0);
    }
    while (!s_list_empty(&broker->deadlines)) {
        mdp_pending *req = s_container(broker->deadlines.next, mdp_pending, deadline_link);
        if (req->deadline > now)
            break;
        s_request_fail(req, MDP_ERR_TIMEOUT);
    }
    if (now >= broker->next_heartbeat) {
        broker->next_heartbeat = now + broker->heartbeat.interval_ms;
        s_link *it = broker->workers.next;
        while (it != &broker->workers) {
            s_link *next = it->next;
            s_worker *worker = s_container(it, s_worker, link);
            if (s_send_to_worker(broker, worker->identity, worker->identity_len, &s_cmd_heartbeat) != 0) {
                worker->expiry = 0; /* gone: removed (and its request failed) on the next tick */
                s_list_remove(&worker->link);
                s_list_insert_before(broker->workers.next, &worker->link);
            }
            it = next;
        }
    }
    s_link *it = broker->services.next;
    while (it != &broker->services) {
        s_link *next = it->next;
        s_service *service = s_container(it, s_service, link);
        if (!service->registered && service->workers == 0 && s_list_empty(&service->queue)) {
            s_list_remove(&service->link);
            free(service);
        }
        it = next;
    }
}

/* Delivers MMI answers to in-process requesters outside mdp_broker_request. */
static void s_on_answer_idle(uv_idle_t *idle)
{
    mdp_broker *broker = idle->data;
    uv_idle_stop(idle);
    while (!s_list_empty(&broker->answered)) {
        mdp_pending *req = s_container(broker->answered.next, mdp_pending, queue_link);
        char answer[4];
        memcpy(answer, req->answer, sizeof answer);
        int result = req->result;
        s_request_complete(req, result, result == MDP_OK ? (const uint8_t *)answer : NULL, result == MDP_OK ? 3 : 0);
    }
}

static void s_on_handle_close(uv_handle_t *handle)
{
    mdp_broker *broker = handle->data;
    if (--broker->open_handles == 0)
        free(broker);
}

mdp_broker *mdp_broker_new(uv_loop_t *loop, void *zmq_context, const char *endpoint, mdp_heartbeat heartbeat)
{
    if (!loop || !zmq_context || !endpoint || heartbeat.interval_ms == 0 || heartbeat.liveness == 0) {
        errno = EINVAL;
        return NULL;
    }
    void *socket = zmq_socket(zmq_context, ZMQ_ROUTER);
    if (!socket)
        return NULL;
    int on = 1;
    int linger = S_CLOSE_LINGER_MS;
    if (zmq_setsockopt(socket, ZMQ_ROUTER_MANDATORY, &on, sizeof on) != 0 ||
        zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger) != 0 || zmq_bind(socket, endpoint) != 0) {
        int saved = errno;
        linger = 0;
        zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(socket);
        errno = saved;
        return NULL;
    }
    mdp_broker *broker = calloc(1, sizeof *broker);
    if (!broker) {
        zmq_close(socket);
        errno = ENOMEM;
        return NULL;
    }
    broker->loop = loop;
    broker->heartbeat = heartbeat;
    broker->client_timeout_ms = S_DEFAULT_CLIENT_TIMEOUT_MS;
    s_list_init(&broker->services);
    s_list_init(&broker->workers);
    s_list_init(&broker->deadlines);
    s_list_init(&broker->answered);
    broker->socket = zmq_loop_new(loop, socket, s_on_message, broker);
    if (!broker->socket) {
        int saved = errno;
        free(broker);
        errno = saved;
        return NULL;
    }
    uv_timer_init(loop, &broker->tick);
    broker->tick.data = broker;
    uv_idle_init(loop, &broker->answer_idle);
    broker->answer_idle.data = broker;
    broker->open_handles = 2;
    uint64_t period = heartbeat.interval_ms / 2;
    period = period < 10 ? 10 : period > 100 ? 100 : period;
    broker->next_heartbeat = uv_now(loop) + heartbeat.interval_ms;
    uv_timer_start(&broker->tick, s_on_tick, period, period);
    return broker;
}

void mdp_broker_set_client_timeout(mdp_broker *broker, uint32_t timeout_ms)
{
    broker->client_timeout_ms = timeout_ms;
}

void mdp_broker_set_queue_max(mdp_broker *broker, size_t queue_max)
{
    broker->queue_max = queue_max;
}

size_t mdp_broker_queue_max(const mdp_broker *broker)
{
    return broker->queue_max;
}

mdp_pending *mdp_broker_request(mdp_broker *broker, const char *service_name, const uint8_t *body, size_t len,
                                uint32_t timeout_ms, mdp_reply_cb cb, void *ud)
{
    if (!broker || broker->destroying || !service_name || !cb || (!body && len > 0))
        return NULL;
    size_t name_len = strlen(service_name);
    if (!s_service_name_valid(service_name, name_len))
        return NULL;
    mdp_pending *req = calloc(1, sizeof *req);
    zmq_msg_t *frame = calloc(1, sizeof *frame);
    if (!req || !frame || zmq_msg_init_size(frame, len) != 0) {
        free(req);
        free(frame);
        return NULL;
    }
    if (len)
        memcpy(zmq_msg_data(frame), body, len);
    req->broker = broker;
    req->internal = 1;
    req->cb = cb;
    req->ud = ud;
    req->body = frame;
    req->body_count = 1;
    s_list_init(&req->queue_link);
    s_list_init(&req->deadline_link);
    uint64_t id = ++broker->next_id;
    req->address[0] = 0x00; /* never a ROUTER identity: those are 5 bytes or do not start with 0 */
    req->address[1] = 'M';
    for (int i = 0; i < 8; i++)
        req->address[2 + i] = (uint8_t)(id >> (56 - 8 * i));
    req->address_len = 10;
    if (s_is_mmi(service_name, name_len)) {
        memcpy(req->answer, s_mmi_answer(broker, service_name, body, len), sizeof req->answer);
        req->result = MDP_OK;
        req->state = S_ANSWERED;
        s_list_insert_before(&broker->answered, &req->queue_link);
        uv_idle_start(&broker->answer_idle, s_on_answer_idle);
        return req;
    }
    s_service *service = s_service_require(broker, service_name, name_len);
    if (!service) {
        zmq_msg_close(frame);
        free(frame);
        free(req);
        return NULL;
    }
    if (s_refuse_when_full(broker, service)) {
        req->result = MDP_ERR_OVERLOADED;
        req->state = S_ANSWERED;
        s_list_insert_before(&broker->answered, &req->queue_link);
        uv_idle_start(&broker->answer_idle, s_on_answer_idle);
        return req;
    }
    req->service = service;
    req->state = S_QUEUED;
    req->deadline = uv_now(broker->loop) + timeout_ms;
    s_list_insert_before(&service->queue, &req->queue_link);
    service->queued++;
    s_deadline_insert(broker, req);
    s_dispatch(broker, service);
    return req;
}

void mdp_broker_cancel(mdp_pending *req)
{
    if (!req)
        return;
    if (req->state == S_IN_FLIGHT) {
        s_list_remove(&req->deadline_link);
        req->cb = NULL;
        req->state = S_ORPHAN;
        return;
    }
    if (req->state != S_ORPHAN)
        s_request_destroy(req);
}

size_t mdp_broker_worker_count(const mdp_broker *broker, const char *service)
{
    s_service *found = service ? s_service_find(broker, service, strlen(service)) : NULL;
    return found ? found->workers : 0;
}

size_t mdp_broker_queue_depth(const mdp_broker *broker, const char *service)
{
    s_service *found = service ? s_service_find(broker, service, strlen(service)) : NULL;
    return found ? found->queued : 0;
}

void mdp_broker_foreach_service(const mdp_broker *broker, mdp_broker_service_cb cb, void *ud)
{
    for (s_link *it = broker->services.next; it != &broker->services; it = it->next) {
        s_service *service = s_container(it, s_service, link);
        cb(service->name, service->workers, service->busy, service->queued, ud);
    }
}

uint64_t mdp_broker_rejected(const mdp_broker *broker, const char *service)
{
    s_service *found = service ? s_service_find(broker, service, strlen(service)) : NULL;
    return found ? found->rejected : 0;
}

int64_t mdp_broker_oldest_heartbeat_ms(const mdp_broker *broker, const char *service)
{
    uint64_t now = uv_now(broker->loop);
    uint64_t window = (uint64_t)broker->heartbeat.interval_ms * broker->heartbeat.liveness;
    /* broker->workers is ordered by expiry: the first worker of service is the one heard from longest ago */
    for (s_link *it = broker->workers.next; it != &broker->workers; it = it->next) {
        s_worker *worker = s_container(it, s_worker, link);
        if (strcmp(worker->service->name, service) == 0) {
            uint64_t heard = worker->expiry > window ? worker->expiry - window : 0;
            return now > heard ? (int64_t)(now - heard) : 0;
        }
    }
    return -1;
}

uint64_t mdp_broker_dropped_frames(const mdp_broker *broker)
{
    return broker->dropped + zmq_loop_dropped(broker->socket);
}

void mdp_broker_destroy(mdp_broker **brokerp)
{
    if (!brokerp || !*brokerp)
        return;
    mdp_broker *broker = *brokerp;
    *brokerp = NULL;
    broker->destroying = 1;
    for (s_link *it = broker->workers.next; it != &broker->workers; it = it->next) {
        s_worker *worker = s_container(it, s_worker, link);
        s_send_to_worker(broker, worker->identity, worker->identity_len, &s_cmd_disconnect);
    }
    while (!s_list_empty(&broker->deadlines))
        s_request_complete(s_container(broker->deadlines.next, mdp_pending, deadline_link), MDP_ERR_SHUTDOWN, NULL, 0);
    while (!s_list_empty(&broker->answered))
        s_request_complete(s_container(broker->answered.next, mdp_pending, queue_link), MDP_ERR_SHUTDOWN, NULL, 0);
    while (!s_list_empty(&broker->workers)) {
        s_worker *worker = s_container(broker->workers.next, s_worker, link);
        if (worker->request) /* only orphans are left: nobody to tell */
            s_request_destroy(worker->request);
        worker->request = NULL;
        s_worker_delete(broker, worker, 0);
    }
    while (!s_list_empty(&broker->services)) {
        s_service *service = s_container(broker->services.next, s_service, link);
        s_list_remove(&service->link);
        free(service);
    }
    zmq_loop_close(&broker->socket, S_CLOSE_LINGER_MS);
    uv_timer_stop(&broker->tick);
    uv_idle_stop(&broker->answer_idle);
    uv_close((uv_handle_t *)&broker->tick, s_on_handle_close);
    uv_close((uv_handle_t *)&broker->answer_idle, s_on_handle_close);
}
