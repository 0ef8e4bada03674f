/* mdp — constants of the Majordomo Protocol MDP/0.2 (ZeroMQ RFC 18) and MMI (RFC 8), and the
 * heartbeat settings that broker, workers and clients share. Nothing else defines these values.
 *
 * Frames as RFC 18 puts them on the wire (MDP/0.2 has no empty frame before the header; a ROUTER
 * adds/strips the peer identity frame in front, not shown here):
 *   client → broker:  ["MDPC02"] [0x01 REQUEST] [service] [body]+
 *   broker → client:  ["MDPC02"] [0x02 PARTIAL | 0x03 FINAL] [service] [body]+
 *   worker ↔ broker:  ["MDPW02"] [command] ...
 *     READY 0x01 [service] · REQUEST 0x02 [client addr] [empty] [body]+ ·
 *     PARTIAL 0x03 / FINAL 0x04 [client addr] [empty] [body]+ · HEARTBEAT 0x05 · DISCONNECT 0x06
 * A body of several frames is concatenated into one buffer when handed to a callback; metodnet
 * itself always sends one body frame.
 */
#ifndef METODNET_MDP_H
#define METODNET_MDP_H

#include <stddef.h>
#include <stdint.h>

#define MDP_CLIENT "MDPC02"
#define MDP_WORKER "MDPW02"

enum {
    MDP_CLIENT_REQUEST = 0x01,
    MDP_CLIENT_PARTIAL = 0x02,
    MDP_CLIENT_FINAL = 0x03,
};

enum {
    MDP_WORKER_READY = 0x01,
    MDP_WORKER_REQUEST = 0x02,
    MDP_WORKER_PARTIAL = 0x03,
    MDP_WORKER_FINAL = 0x04,
    MDP_WORKER_HEARTBEAT = 0x05,
    MDP_WORKER_DISCONNECT = 0x06,
};

/* Results passed to every MDP reply callback (mdp_broker_request, mdp_client_request). */
typedef enum {
    MDP_OK = 0,
    MDP_ERR_TIMEOUT = -1,     /* the deadline passed before a reply (incl. no worker for service) */
    MDP_ERR_WORKER_LOST = -2, /* the worker holding the request died or disconnected */
    MDP_ERR_SHUTDOWN = -3,    /* the broker/client was destroyed with the request pending */
    MDP_ERR_INVALID = -4,     /* bad arguments (service name empty or too long) */
    MDP_ERR_OVERLOADED = -5,  /* the service's queue in the broker is full: refused at once, never queued */
} mdp_result;

/* Called exactly once per request. body is borrowed for the duration of the call. */
typedef void (*mdp_reply_cb)(int result, const uint8_t *body, size_t len, void *ud);

/* Heartbeat: a peer is dead after interval_ms * liveness without traffic from it. */
typedef struct {
    uint32_t interval_ms;
    uint32_t liveness;
} mdp_heartbeat;

/* Defaults 1000 ms × 3, overridden by METODNET_HEARTBEAT_MS and METODNET_HEARTBEAT_LIVENESS. */
mdp_heartbeat mdp_heartbeat_from_env(void);

#define MDP_SERVICE_NAME_MAX 64

#endif
