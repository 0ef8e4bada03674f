/* mdp_worker — an MDP/0.2 worker (RFC 18) on libuv: registers a service with the broker, heartbeats,
 * reconnects with backoff when the broker is silent for heartbeat expiry (on a new socket, so a dead TCP
 * connection is left behind; the backoff stays under 5 heartbeat intervals, at most 30 s).
 *
 * One MDP worker handles one request at a time, so a process opens `concurrency` worker connections
 * (DEALER sockets, each an MDP worker of its own to the broker) and so handles that many requests at
 * once on its single loop. Any conforming broker sees ordinary workers.
 */
#ifndef METODNET_MDP_WORKER_H
#define METODNET_MDP_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "mdp.h"

typedef struct mdp_worker mdp_worker;
typedef struct mdp_worker_request mdp_worker_request;

/* A request arrived. body is borrowed for the duration of the call; req must be answered exactly
 * once with mdp_worker_reply(), now or later. */
typedef void (*mdp_worker_request_cb)(mdp_worker *worker, mdp_worker_request *req, const uint8_t *body, size_t len,
                                      void *ud);

/* zmq_context is borrowed; curve (copied) are the connections' Curve keys, NULL for plain ones.
 * Returns NULL (errno set) on failure. */
mdp_worker *mdp_worker_new(uv_loop_t *loop, void *zmq_context, const char *broker_endpoint, const mdp_curve_keys *curve,
                           const char *service, unsigned concurrency, mdp_heartbeat heartbeat, mdp_worker_request_cb cb,
                           void *ud);

/* Sends the FINAL reply and frees req. body is copied. If the connection that carried req was reset
 * meanwhile, the reply is dropped (the broker has already failed the request) and -1 is returned;
 * req is freed either way. */
int mdp_worker_reply(mdp_worker_request *req, const uint8_t *body, size_t len);

/* Requests currently being handled. */
size_t mdp_worker_busy(const mdp_worker *worker);

/* Graceful stop: takes no new requests, lets outstanding ones reply (up to grace_ms), sends DISCONNECT
 * on every connection, closes the sockets and frees the worker, then calls done (may be NULL). */
void mdp_worker_shutdown(mdp_worker *worker, uint32_t grace_ms, void (*done)(void *ud), void *ud);

#endif
