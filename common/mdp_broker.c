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
 *
 * Secure brokers (mdp_broker_new_secure): the socket is a Curve server whose ZAP handler (bound on the
 * same context beforehand, broker_auth.h) names each peer by its User-Id; every external request and
 * every READY passes the security hooks with that User-Id before anything else happens to it.
 */
#include "mdp_broker.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "zmq_loop.h"

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
    uint8_t identity[MDP_ADDRESS_MAX];
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
    uint8_t address[MDP_ADDRESS_MAX];
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
    uint64_t refused;
    int secure;
    mdp_broker_security security;
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

static s_service *s_service_find(const mdp_broker *broker, const void *name, size_t len)
{
    for (s_link *it = broker->services.next; it != &broker->services; it = it->next) {
        s_service *service = s_container(it, s_service, link);
        if (strlen(service->name) == len && memcmp(service->name, name, len) == 0)
            return service;
    }
    return NULL;
}

/* name must be valid (mdp_service_name_valid). NULL when out of memory. */
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
    if (!mdp_service_name_valid(body, len))
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

/* The ZAP User-Id of the peer that sent frames (libzmq puts the metadata on the frames the peer
 * sent, not on the identity frame the ROUTER adds): "" when there is none. */
static const char *s_peer_user_id(zmq_msg_t *frames)
{
    const char *user_id = zmq_msg_gets(&frames[1], "User-Id");
    return user_id ? user_id : "";
}

/* Asks the security hook whether an external client's request may be queued. Refused: the hook's
 * refusal (if any) goes back to the client as the FINAL body, and 0 is returned. */
static int s_client_admitted(mdp_broker *broker, zmq_msg_t *frames, size_t count, const void *name, size_t name_len)
{
    if (!broker->secure || !broker->security.admit_request)
        return 1;
    char service[MDP_SERVICE_NAME_MAX + 1];
    memcpy(service, name, name_len);
    service[name_len] = '\0';
    size_t len = 0;
    uint8_t *owned = NULL;
    const uint8_t *body = mdp_join_body(frames, 4, count, &len, &owned);
    uint8_t *refusal = NULL;
    size_t refusal_len = 0;
    int admitted = body && broker->security.admit_request(broker->security.ud, s_peer_user_id(frames), service, body,
                                                          len, &refusal, &refusal_len) == 0;
    free(owned);
    if (admitted)
        return 1;
    broker->refused++;
    if (refusal) {
        zmq_loop_frame reply[5] = {{zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0])},
                                   {MDP_CLIENT, 6},
                                   {&s_cmd_client_final, 1},
                                   {name, name_len},
                                   {refusal, refusal_len}};
        zmq_loop_send(broker->socket, reply, 5);
        free(refusal);
    }
    return 0;
}

/* [client] ["MDPC02"] [0x01] [service] [body]+, decoded into m */
static void s_client_message(mdp_broker *broker, zmq_msg_t *frames, size_t count, const mdp_message *m)
{
    const void *name = m->service;
    size_t name_len = m->service_len;
    if (s_is_mmi(name, name_len)) {
        char service[MDP_SERVICE_NAME_MAX + 1];
        memcpy(service, name, name_len);
        service[name_len] = '\0';
        const char *answer = s_mmi_answer(broker, service, zmq_msg_data(&frames[4]), zmq_msg_size(&frames[4]));
        zmq_loop_frame reply[5] = {
            {m->identity, m->identity_len}, {MDP_CLIENT, 6}, {&s_cmd_client_final, 1}, {name, name_len}, {answer, 3}};
        zmq_loop_send(broker->socket, reply, 5); /* a client gone meanwhile is no concern */
        return;
    }
    if (!s_client_admitted(broker, frames, count, name, name_len))
        return;
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
    memcpy(req->address, m->identity, m->identity_len);
    req->address_len = m->identity_len;
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

/* PARTIAL/FINAL: [worker] ["MDPW02"] [cmd] [client] [] [body]+ from a worker holding a request. */
static void s_worker_reply(mdp_broker *broker, s_worker *worker, const mdp_message *m, zmq_msg_t *frames, size_t count)
{
    mdp_pending *req = worker->request;
    if (!req || m->address_len != req->address_len || memcmp(m->address, req->address, m->address_len) != 0) {
        broker->dropped++;
        return;
    }
    s_worker_touch(broker, worker);
    if (m->kind == MDP_MESSAGE_PARTIAL) {
        if (!req->internal && req->state == S_IN_FLIGHT) {
            zmq_loop_frame reply[4 + ZMQ_LOOP_MAX_FRAMES];
            size_t n = 0;
            reply[n++] = (zmq_loop_frame){req->address, req->address_len};
            reply[n++] = (zmq_loop_frame){MDP_CLIENT, 6};
            reply[n++] = (zmq_loop_frame){&s_cmd_client_partial, 1};
            reply[n++] = (zmq_loop_frame){req->service->name, strlen(req->service->name)};
            for (size_t i = m->body; i < count; i++)
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
        for (size_t i = m->body; i < count; i++)
            reply[n++] = (zmq_loop_frame){zmq_msg_data(&frames[i]), zmq_msg_size(&frames[i])};
        zmq_loop_send(broker->socket, reply, n);
        s_request_destroy(req);
        s_dispatch(broker, service);
        return;
    }
    size_t len = 0;
    uint8_t *owned = NULL;
    const uint8_t *body = mdp_join_body(frames, m->body, count, &len, &owned);
    s_dispatch(broker, service);
    if (!body) {
        s_request_complete(req, MDP_ERR_WORKER_LOST, NULL, 0); /* out of memory: the reply is lost */
        return;
    }
    s_request_complete(req, MDP_OK, body, len);
    free(owned);
}

/* [worker] ["MDPW02"] [command] ..., decoded into m */
static void s_worker_message(mdp_broker *broker, zmq_msg_t *frames, size_t count, const mdp_message *m)
{
    const uint8_t *identity = m->identity;
    size_t identity_len = m->identity_len;
    s_worker *worker = s_worker_find(broker, identity, identity_len);
    switch (m->kind) {
    case MDP_MESSAGE_READY: {
        if (worker) { /* a second READY is a protocol error */
            s_worker_delete(broker, worker, 1);
            return;
        }
        if (s_is_mmi(m->service, m->service_len)) { /* RFC 8: the broker owns "mmi.*" */
            s_send_to_worker(broker, identity, identity_len, &s_cmd_disconnect);
            return;
        }
        if (broker->secure && broker->security.admit_worker) {
            char service_name[MDP_SERVICE_NAME_MAX + 1];
            memcpy(service_name, m->service, m->service_len);
            service_name[m->service_len] = '\0';
            if (broker->security.admit_worker(broker->security.ud, s_peer_user_id(frames), service_name) != 0) {
                broker->refused++;
                s_send_to_worker(broker, identity, identity_len, &s_cmd_disconnect);
                return;
            }
        }
        s_service *service = s_service_require(broker, m->service, m->service_len);
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
    case MDP_MESSAGE_HEARTBEAT:
        if (worker)
            s_worker_touch(broker, worker);
        else
            s_send_to_worker(broker, identity, identity_len, &s_cmd_disconnect);
        return;
    case MDP_MESSAGE_DISCONNECT:
        if (worker)
            s_worker_delete(broker, worker, 0);
        return;
    case MDP_MESSAGE_PARTIAL:
    case MDP_MESSAGE_FINAL:
        if (!worker) {
            s_send_to_worker(broker, identity, identity_len, &s_cmd_disconnect);
            return;
        }
        s_worker_reply(broker, worker, m, frames, count);
        return;
    default: /* the decoder gives nothing else at the broker */
        broker->dropped++;
        return;
    }
}

static void s_on_message(zmq_loop *zl, zmq_msg_t *frames, size_t count, void *ud)
{
    (void)zl;
    mdp_broker *broker = ud;
    mdp_message m;
    switch (mdp_decode_at_broker(frames, count, &m)) {
    case MDP_MESSAGE_INVALID:
        broker->dropped++;
        return;
    case MDP_MESSAGE_CLIENT_REQUEST:
        s_client_message(broker, frames, count, &m);
        return;
    default:
        s_worker_message(broker, frames, count, &m);
        return;
    }
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

bool mdp_broker_local_endpoint_valid(const char *endpoint)
{
    const char *path = endpoint && strncmp(endpoint, "ipc://", 6) == 0 ? endpoint + 6 : NULL;
    const char *slash = path ? strrchr(path, '/') : NULL;
    return slash != NULL && slash != path && strlen(path) < MDP_IPC_PATH_MAX;
}

/* The directory of an "ipc://<path>" endpoint is this user's alone (created 0700 when missing):
 * nobody else may reach a socket that admits without a key. 0, or -1 with errno (EPERM: open to
 * others or not ours, EINVAL: not such an endpoint, mdp_broker_local_endpoint_valid). */
static int s_private_ipc_dir(const char *endpoint)
{
    if (!mdp_broker_local_endpoint_valid(endpoint)) {
        errno = EINVAL;
        return -1;
    }
    const char *path = endpoint + 6, *slash = strrchr(path, '/');
    char dir[MDP_IPC_PATH_MAX];
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(dir, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

/* The local endpoint (NULL mechanism through ZAP) is bound before the Curve options are set: a
 * listener takes the socket's options as they are when it is bound. */
static int s_secure_bind(void *socket, const mdp_broker_security *security)
{
    int on = 1;
    if (zmq_setsockopt(socket, ZMQ_ZAP_DOMAIN, MDP_BROKER_ZAP_DOMAIN, strlen(MDP_BROKER_ZAP_DOMAIN)) != 0)
        return -1;
    if (security->local_endpoint &&
        (s_private_ipc_dir(security->local_endpoint) != 0 || zmq_bind(socket, security->local_endpoint) != 0))
        return -1;
    return zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &on, sizeof on) != 0 ||
                   zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, security->secret_key, MDP_CURVE_KEY_BYTES) != 0
               ? -1
               : 0;
}

mdp_broker *mdp_broker_new(uv_loop_t *loop, void *zmq_context, const char *endpoint, mdp_heartbeat heartbeat)
{
    return mdp_broker_new_secure(loop, zmq_context, endpoint, heartbeat, NULL);
}

/* Walks the comma-separated endpoint list; socket NULL: only checks it. 0, or -1 (errno set: EINVAL for
 * an empty or over-long item, else zmq_bind's). */
static int s_bind_all(void *socket, const char *endpoints)
{
    const char *at = endpoints;
    for (;;) {
        const char *comma = strchr(at, ',');
        size_t len = comma ? (size_t)(comma - at) : strlen(at);
        char one[MDP_BROKER_ENDPOINT_MAX + 1];
        if (len == 0 || len > MDP_BROKER_ENDPOINT_MAX) {
            errno = EINVAL;
            return -1;
        }
        memcpy(one, at, len);
        one[len] = '\0';
        if (socket && zmq_bind(socket, one) != 0)
            return -1;
        if (!comma)
            return 0;
        at = comma + 1;
    }
}

bool mdp_broker_endpoints_valid(const char *endpoints)
{
    return endpoints && s_bind_all(NULL, endpoints) == 0;
}

mdp_broker *mdp_broker_new_secure(uv_loop_t *loop, void *zmq_context, const char *endpoint, mdp_heartbeat heartbeat,
                                  const mdp_broker_security *security)
{
    if (!loop || !zmq_context || !endpoint || heartbeat.interval_ms == 0 || heartbeat.liveness == 0 ||
        (security && !security->secret_key)) {
        errno = EINVAL;
        return NULL;
    }
    void *socket = zmq_socket(zmq_context, ZMQ_ROUTER);
    if (!socket)
        return NULL;
    int on = 1;
    int linger = S_CLOSE_LINGER_MS;
    /* ZMTP heartbeats (PING every interval, a connection silent for the MDP expiry is closed): the TCP
     * connection of a peer lost without FIN or RST (a cut link, a host gone) is dropped as soon as MDP
     * expires the worker, not after the kernel's retransmissions (~15 min) */
    int ping_ivl = heartbeat.interval_ms > INT32_MAX ? INT32_MAX : (int)heartbeat.interval_ms;
    uint64_t expiry = (uint64_t)heartbeat.interval_ms * heartbeat.liveness;
    int ping_timeout = expiry > INT32_MAX ? INT32_MAX : (int)expiry;
    if (zmq_setsockopt(socket, ZMQ_ROUTER_MANDATORY, &on, sizeof on) != 0 ||
        zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(socket, ZMQ_HEARTBEAT_IVL, &ping_ivl, sizeof ping_ivl) != 0 ||
        zmq_setsockopt(socket, ZMQ_HEARTBEAT_TIMEOUT, &ping_timeout, sizeof ping_timeout) != 0 ||
        (security && s_secure_bind(socket, security) != 0) || s_bind_all(socket, endpoint) != 0) {
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
    if (security) {
        broker->secure = 1;
        broker->security = *security;
        broker->security.secret_key = NULL; /* handed to libzmq above; not kept */
    }
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
    if (!mdp_service_name_valid(service_name, name_len))
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

uint64_t mdp_broker_refused(const mdp_broker *broker)
{
    return broker->refused;
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
