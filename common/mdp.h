/* mdp — constants of the Majordomo Protocol MDP/0.2 (ZeroMQ RFC 18) and MMI (RFC 8), the heartbeat
 * settings and Curve client keys that broker, workers and clients share, and the decoding of received frames that all three
 * use (tests/fuzz/fuzz_mdp.c fuzzes it). Nothing else defines these values or reads these frames.
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

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

#define MDP_CURVE_KEY_BYTES 32

/* The CurveZMQ (RFC 26) keys of a worker's or client's connection to the broker: the broker's public
 * key and the peer's own key pair, binary. Where a function takes a `const mdp_curve_keys *`, NULL is a
 * plain connection (in-process unit tests only: the broker of the gateway requires Curve). */
typedef struct {
    uint8_t broker_public[MDP_CURVE_KEY_BYTES];
    uint8_t public_key[MDP_CURVE_KEY_BYTES];
    uint8_t secret_key[MDP_CURVE_KEY_BYTES];
} mdp_curve_keys;

/* Makes socket a Curve client with keys (before zmq_connect); NULL: nothing. 0, or -1 (errno set). */
int mdp_curve_apply(void *socket, const mdp_curve_keys *keys);

#define MDP_SERVICE_NAME_MAX 64
/* A peer's routing id at the broker, and the client address a request carries to its worker. */
#define MDP_ADDRESS_MAX 255

/* A service name is 1..MDP_SERVICE_NAME_MAX printable ASCII bytes (no spaces or controls). */
bool mdp_service_name_valid(const void *name, size_t len);

/* ---- decoding: the one reading of the frames above, for the broker, the worker and the client ---- */

typedef enum {
    MDP_MESSAGE_INVALID = 0,    /* malformed: dropped (the broker counts it) */
    MDP_MESSAGE_UNKNOWN,        /* at a worker: from the broker, but no command it acts on (liveness only) */
    MDP_MESSAGE_CLIENT_REQUEST, /* at the broker: [id] MDPC02 REQUEST [service] [body]+ */
    MDP_MESSAGE_READY,          /* at the broker: [id] MDPW02 READY [service] */
    MDP_MESSAGE_HEARTBEAT,      /* at the broker: [id] MDPW02 HEARTBEAT; at a worker: MDPW02 HEARTBEAT */
    MDP_MESSAGE_DISCONNECT,     /* at the broker: [id] MDPW02 DISCONNECT; at a worker: MDPW02 DISCONNECT */
    MDP_MESSAGE_PARTIAL,        /* at the broker: [id] MDPW02 PARTIAL [client] [] [body]+; at a client:
                                   MDPC02 PARTIAL [service] [body]+ */
    MDP_MESSAGE_FINAL,          /* the same with FINAL */
    MDP_MESSAGE_REQUEST,        /* at a worker: MDPW02 REQUEST [client] [] [body]+ */
} mdp_message_kind;

/* A decoded message: borrowed pointers into the frames; lengths 0 where a part is absent. */
typedef struct {
    mdp_message_kind kind;
    const uint8_t *identity; /* at the broker: the sender's routing id (1..MDP_ADDRESS_MAX bytes) */
    size_t identity_len;
    const uint8_t *service; /* CLIENT_REQUEST and READY (a valid name); a client's PARTIAL/FINAL (as sent) */
    size_t service_len;
    const uint8_t *address; /* a worker's REQUEST, PARTIAL and FINAL (1..MDP_ADDRESS_MAX bytes) */
    size_t address_len;
    size_t body; /* index of the first body frame (the body runs to the last frame); 0 = no body */
} mdp_message;

/* frames as a ROUTER socket of the broker receives them (the peer's routing id first). */
mdp_message_kind mdp_decode_at_broker(zmq_msg_t *frames, size_t count, mdp_message *out);
/* frames as a worker's DEALER receives them from the broker. */
mdp_message_kind mdp_decode_at_worker(zmq_msg_t *frames, size_t count, mdp_message *out);
/* frames as a client's DEALER receives them from the broker. */
mdp_message_kind mdp_decode_at_client(zmq_msg_t *frames, size_t count, mdp_message *out);

/* frames[first..count) as one body: the frame's own bytes when there is one, else a new buffer in
 * *owned (the caller frees it; NULL when the frames were borrowed). NULL only when out of memory. */
const uint8_t *mdp_join_body(zmq_msg_t *frames, size_t first, size_t count, size_t *len, uint8_t **owned);

#endif
