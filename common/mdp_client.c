/* mdp_client — asynchronous MDP/0.2 client (ZeroMQ RFC 18) on libuv.
 *
 * MDP replies carry no correlation id, so each outstanding request owns one DEALER connection from
 * a pool until its FINAL arrives (PARTIALs are skipped). A request that times out takes its
 * connection down with it (closed, never reused), so a late reply cannot be taken for the answer to
 * a later request. Each request has its own uv_timer for the deadline; the request is freed in the
 * timer's close callback. Callbacks run last, so a callback may destroy the client.
 */
#include "mdp_client.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "zmq_loop.h"

#define S_IDLE_MAX 8

typedef struct s_request s_request;

typedef struct s_connection {
    mdp_client *client;
    zmq_loop *socket;
    s_request *request;        /* the one outstanding request, NULL while idle */
    struct s_connection *next; /* client->idle */
} s_connection;

struct s_request {
    uv_timer_t timer;
    mdp_client *client;
    s_connection *conn;
    char service[MDP_SERVICE_NAME_MAX + 1];
    mdp_reply_cb cb;
    void *ud;
    s_request *prev;
    s_request *next;
};

struct mdp_client {
    uv_loop_t *loop;
    void *context;
    char *endpoint;
    mdp_curve_keys curve;
    int has_curve;
    s_connection *idle;
    size_t idle_count;
    s_request *requests;
};

static const uint8_t s_cmd_request = MDP_CLIENT_REQUEST;

static void s_on_message(zmq_loop *zl, zmq_msg_t *frames, size_t count, void *ud);

static s_connection *s_connection_open(mdp_client *client)
{
    s_connection *conn = calloc(1, sizeof *conn);
    if (!conn)
        return NULL;
    void *socket = zmq_socket(client->context, ZMQ_DEALER);
    int linger = 0;
    if (!socket || zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        mdp_curve_apply(socket, client->has_curve ? &client->curve : NULL) != 0 ||
        zmq_connect(socket, client->endpoint) != 0) {
        if (socket)
            zmq_close(socket);
        free(conn);
        return NULL;
    }
    conn->client = client;
    conn->socket = zmq_loop_new(client->loop, socket, s_on_message, conn);
    if (!conn->socket) {
        free(conn);
        return NULL;
    }
    return conn;
}

static void s_connection_close(s_connection *conn)
{
    zmq_loop_close(&conn->socket, 0);
    free(conn);
}

static void s_on_timer_close(uv_handle_t *handle)
{
    free(handle->data);
}

/* Unlinks req, closes its timer (which frees it) and then calls its callback. */
static void s_request_finish(mdp_client *client, s_request *req, int result, const uint8_t *body, size_t len)
{
    if (req->prev)
        req->prev->next = req->next;
    else
        client->requests = req->next;
    if (req->next)
        req->next->prev = req->prev;
    mdp_reply_cb cb = req->cb;
    void *ud = req->ud;
    uv_timer_stop(&req->timer);
    uv_close((uv_handle_t *)&req->timer, s_on_timer_close);
    cb(result, body, len, ud);
}

static void s_on_timeout(uv_timer_t *timer)
{
    s_request *req = timer->data;
    if (req->conn) {
        s_connection_close(req->conn); /* a late reply must die with this socket */
        req->conn = NULL;
    }
    s_request_finish(req->client, req, MDP_ERR_TIMEOUT, NULL, 0);
}

/* ["MDPC02"] [0x02 PARTIAL | 0x03 FINAL] [service] [body]+ */
static void s_on_message(zmq_loop *zl, zmq_msg_t *frames, size_t count, void *ud)
{
    (void)zl;
    s_connection *conn = ud;
    s_request *req = conn->request;
    mdp_message m;
    if (!req || mdp_decode_at_client(frames, count, &m) != MDP_MESSAGE_FINAL || m.service_len != strlen(req->service) ||
        memcmp(m.service, req->service, m.service_len) != 0)
        return; /* PARTIAL is skipped; anything else is junk */
    size_t total = 0;
    uint8_t *owned = NULL;
    const uint8_t *body = mdp_join_body(frames, m.body, count, &total, &owned);
    if (!body)
        return; /* out of memory: the deadline will fail the request */
    mdp_client *client = conn->client;
    conn->request = NULL;
    req->conn = NULL;
    if (client->idle_count < S_IDLE_MAX) {
        conn->next = client->idle;
        client->idle = conn;
        client->idle_count++;
    } else {
        s_connection_close(conn);
    }
    /* frames stay valid: zmq_loop owns them until this callback returns, even if closed */
    s_request_finish(client, req, MDP_OK, body, total);
    free(owned);
}

mdp_client *mdp_client_new(uv_loop_t *loop, void *zmq_context, const char *broker_endpoint, const mdp_curve_keys *curve)
{
    if (!loop || !zmq_context || !broker_endpoint) {
        errno = EINVAL;
        return NULL;
    }
    mdp_client *client = calloc(1, sizeof *client);
    if (!client || !(client->endpoint = strdup(broker_endpoint))) {
        free(client);
        errno = ENOMEM;
        return NULL;
    }
    client->loop = loop;
    client->context = zmq_context;
    if (curve) {
        client->curve = *curve;
        client->has_curve = 1;
    }
    /* Check the endpoint now: a connection that cannot be opened here never will be. */
    s_connection *conn = s_connection_open(client);
    if (!conn) {
        free(client->endpoint);
        free(client);
        return NULL;
    }
    client->idle = conn;
    client->idle_count = 1;
    return client;
}

int mdp_client_request(mdp_client *client, const char *service, const uint8_t *body, size_t len, uint32_t timeout_ms,
                       mdp_reply_cb cb, void *ud)
{
    size_t service_len = service ? strlen(service) : 0;
    if (!client || !cb || service_len == 0 || service_len > MDP_SERVICE_NAME_MAX || (!body && len > 0))
        return -1;
    s_request *req = calloc(1, sizeof *req);
    if (!req)
        return -1;
    s_connection *conn = client->idle;
    if (conn) {
        client->idle = conn->next;
        client->idle_count--;
        conn->next = NULL;
    } else if (!(conn = s_connection_open(client))) {
        free(req);
        return -1;
    }
    memcpy(req->service, service, service_len + 1);
    req->client = client;
    req->cb = cb;
    req->ud = ud;
    zmq_loop_frame frames[4] = {{MDP_CLIENT, 6}, {&s_cmd_request, 1}, {service, service_len}, {body, len}};
    if (zmq_loop_send(conn->socket, frames, 4) != 0) {
        s_connection_close(conn); /* e.g. high-water mark: the deadline reports it */
        conn = NULL;
    }
    req->conn = conn;
    if (conn)
        conn->request = req;
    uv_timer_init(client->loop, &req->timer);
    req->timer.data = req;
    req->next = client->requests;
    if (client->requests)
        client->requests->prev = req;
    client->requests = req;
    uv_timer_start(&req->timer, s_on_timeout, timeout_ms, 0);
    return 0;
}

void mdp_client_destroy(mdp_client **clientp)
{
    if (!clientp || !*clientp)
        return;
    mdp_client *client = *clientp;
    *clientp = NULL;
    while (client->requests) {
        s_request *req = client->requests;
        if (req->conn)
            s_connection_close(req->conn);
        req->conn = NULL;
        s_request_finish(client, req, MDP_ERR_SHUTDOWN, NULL, 0);
    }
    while (client->idle) {
        s_connection *conn = client->idle;
        client->idle = conn->next;
        s_connection_close(conn);
    }
    free(client->endpoint);
    sodium_memzero(&client->curve, sizeof client->curve);
    free(client);
}
