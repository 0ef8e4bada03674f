/* mdp_broker — an MDP/0.2 broker (RFC 18) with MMI (RFC 8) on a ROUTER socket driven by libuv.
 *
 * External clients and workers speak plain MDP over ZeroMQ; the gateway in the same process submits
 * requests directly with mdp_broker_request() (no socket hop). Per service the broker keeps a queue of
 * pending requests with deadlines and a list of idle workers; each request in flight is tracked on
 * the worker that holds it, so when that worker dies (heartbeat expiry) or disconnects, the request
 * fails at once with MDP_ERR_WORKER_LOST. Requests are never silently re-dispatched (a POST must not
 * run twice). Malformed frames are dropped and counted; an unknown worker that sends anything but
 * READY is told DISCONNECT. A service's queue may be bounded (mdp_broker_set_queue_max): past it, a
 * request is refused at once instead of queued. MMI: "mmi.service" answers "200"/"404", any other "mmi.*" "501".
 * Below MDP the socket sends ZMTP heartbeats (RFC 37 PING/PONG) every heartbeat interval and closes a TCP
 * connection silent for the expiry, so a peer lost without FIN or RST leaves no connection behind.
 */
#ifndef METODNET_MDP_BROKER_H
#define METODNET_MDP_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "mdp.h"

typedef struct mdp_broker mdp_broker;
typedef struct mdp_pending mdp_pending;

/* Longest single endpoint the broker binds. */
#define MDP_BROKER_ENDPOINT_MAX 255

/* Binds a ROUTER to endpoint (e.g. "tcp://127.0.0.1:5555"), or to each of several separated by commas
 * (e.g. "tcp://127.0.0.1:5555,tcp://10.0.0.1:5555": loopback for the local services, one address for
 * workers on other hosts). zmq_context is borrowed and must outlive the broker. Returns NULL (errno
 * set) when any bind fails (an empty or over-long item: EINVAL). A plain broker: in-process tests only. */
mdp_broker *mdp_broker_new(uv_loop_t *loop, void *zmq_context, const char *endpoint, mdp_heartbeat heartbeat);

/* endpoints is a list the broker can be given: one or more non-empty items of at most
 * MDP_BROKER_ENDPOINT_MAX bytes, separated by commas (what zmq_bind makes of each is not checked). */
bool mdp_broker_endpoints_valid(const char *endpoints);

/* Longest path of a unix socket, with its NUL (sun_path). */
#define MDP_IPC_PATH_MAX 108

/* endpoint is a local endpoint the broker can bind: "ipc://<dir>/<name>", the path shorter than
 * MDP_IPC_PATH_MAX, in a directory (not /) that mdp_broker_security.local_endpoint then requires
 * to be the owner's alone. */
bool mdp_broker_local_endpoint_valid(const char *endpoint);

/* The ZAP domain of the broker socket (RFC 27). */
#define MDP_BROKER_ZAP_DOMAIN "metodnet"

/* CurveZMQ on the broker socket and who may do what on it. The ZAP handler that decides which keys
 * may connect, and gives each its User-Id, must be bound on the same context before the broker is
 * made and must outlive it (broker_auth.h). The hooks are called on the broker's loop with the
 * sending peer's User-Id; in-process requests (mdp_broker_request) pass no hook. */
typedef struct {
    const uint8_t *secret_key; /* the broker's secret key, MDP_CURVE_KEY_BYTES; used at creation only */
    /* The broker's local endpoint for the workers on its own host, "ipc://<path>" (NULL: none): bound
     * without Curve (the NULL mechanism, still through ZAP, which names such peers "service:local"):
     * who may connect is decided by the file system — the socket's directory must belong to this
     * process's user and be closed to everyone else (0700), else the broker does not start. A
     * process that can connect there could read the services' key files as well. */
    const char *local_endpoint;
    /* An external client's request for a (non-"mmi.*") service, body joined: 0 admits it. Else it is
     * dropped and, when *refusal is set (malloc'd, freed by the broker), *refusal goes back to the
     * client as the FINAL reply body. */
    int (*admit_request)(void *ud, const char *user_id, const char *service, const uint8_t *body, size_t len,
                         uint8_t **refusal, size_t *refusal_len);
    /* READY for service: 0 registers the worker, else it is told DISCONNECT. */
    int (*admit_worker)(void *ud, const char *user_id, const char *service);
    void *ud;
} mdp_broker_security;

/* As mdp_broker_new, with Curve and the hooks of security (copied); the local endpoint of security,
 * if any, is bound first. */
mdp_broker *mdp_broker_new_secure(uv_loop_t *loop, void *zmq_context, const char *endpoint, mdp_heartbeat heartbeat,
                                  const mdp_broker_security *security);

/* Submits a request for service from inside this process. body is copied. cb is called exactly once,
 * later (never from inside this call), unless mdp_broker_cancel() is called first. timeout_ms bounds
 * queueing plus processing. Returns a handle owned by the broker (valid until cb or cancel), or NULL
 * with cb not called when the arguments are invalid. */
mdp_pending *mdp_broker_request(mdp_broker *broker, const char *service, const uint8_t *body, size_t len,
                                uint32_t timeout_ms, mdp_reply_cb cb, void *ud);

/* Deadline for requests of external MDP clients (queueing plus processing), default 30000 ms. When
 * it passes, or the worker holding such a request dies, the request is dropped: MDP/0.2 has no error
 * reply, the client's own deadline covers it. (Extension of the original contract.) */
void mdp_broker_set_client_timeout(mdp_broker *broker, uint32_t timeout_ms);

/* Bound on each service's queue (requests waiting for a worker), 0 = none (the default). A request
 * that would have to wait in a full queue is refused at once, never queued: an in-process one gets
 * MDP_ERR_OVERLOADED through its callback (later, as always); an external client's is dropped (MDP/0.2
 * has no error reply) and its own deadline covers it. Each refusal is counted (mdp_broker_rejected). */
void mdp_broker_set_queue_max(mdp_broker *broker, size_t queue_max);
size_t mdp_broker_queue_max(const mdp_broker *broker);

/* The requester went away: cb will not be called; the worker's eventual reply is discarded. */
void mdp_broker_cancel(mdp_pending *pending);

/* Live workers (idle + busy) registered for service; 0 when unknown. */
size_t mdp_broker_worker_count(const mdp_broker *broker, const char *service);
/* Requests waiting for a worker of service. */
size_t mdp_broker_queue_depth(const mdp_broker *broker, const char *service);

/* Requests of service refused because its queue was full, since start. */
uint64_t mdp_broker_rejected(const mdp_broker *broker, const char *service);
/* Milliseconds since the broker last heard from the worker of service heard from longest ago (a
 * healthy worker is heard from every heartbeat interval); -1 when service has no worker. */
int64_t mdp_broker_oldest_heartbeat_ms(const mdp_broker *broker, const char *service);

typedef void (*mdp_broker_service_cb)(const char *service, size_t workers, size_t busy, size_t queued, void *ud);
/* Calls cb for every service the broker knows (for metrics). */
void mdp_broker_foreach_service(const mdp_broker *broker, mdp_broker_service_cb cb, void *ud);

/* Frames dropped as malformed since start (for metrics and tests). */
uint64_t mdp_broker_dropped_frames(const mdp_broker *broker);
/* Requests and READYs refused by the security hooks since start. */
uint64_t mdp_broker_refused(const mdp_broker *broker);

/* Sends DISCONNECT to every worker, fails pending requests with MDP_ERR_SHUTDOWN, closes the socket
 * (the uv_poll is stopped before the socket is closed) and frees the broker; *broker is set to NULL.
 * The loop must run once more to complete handle closing. */
void mdp_broker_destroy(mdp_broker **broker);

#endif
