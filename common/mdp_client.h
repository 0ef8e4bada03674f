/* mdp_client — an asynchronous MDP/0.2 client (RFC 18) on libuv, for services that call other
 * services through the broker, for metodctl-style tools and for tests. Each outstanding request uses
 * its own DEALER connection from a small pool (MDP replies carry no correlation id), so several
 * requests may be in flight at once. Every request has a deadline.
 */
#ifndef METODNET_MDP_CLIENT_H
#define METODNET_MDP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "mdp.h"

typedef struct mdp_client mdp_client;

/* zmq_context is borrowed; curve (copied) are the connections' Curve keys, NULL for plain ones.
 * Returns NULL on failure. */
mdp_client *mdp_client_new(uv_loop_t *loop, void *zmq_context, const char *broker_endpoint,
                           const mdp_curve_keys *curve);

/* Sends body (copied) to service. cb is called exactly once, never from inside this call: MDP_OK with
 * the FINAL body, or an error (MDP_ERR_TIMEOUT after timeout_ms). PARTIAL replies are skipped.
 * Returns 0, or -1 with cb not called when the arguments are invalid. Also used for "mmi.service". */
int mdp_client_request(mdp_client *client, const char *service, const uint8_t *body, size_t len, uint32_t timeout_ms,
                       mdp_reply_cb cb, void *ud);

/* Fails pending requests with MDP_ERR_SHUTDOWN, closes sockets, frees; *client = NULL. */
void mdp_client_destroy(mdp_client **client);

#endif
