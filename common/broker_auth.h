/* broker_auth — who may speak to the MDP broker, and as whom (docs/security.md, "Брокер MDP").
 *
 * The ZAP handler (ZeroMQ RFC 27) of the broker's context, a ROUTER on inproc://zeromq.zap.01 driven
 * by the broker's own libuv loop (zmq_loop), admits a Curve connection only when its client key is on
 * the clients list (curve_keys.h) and names it by User-Id "service:<name>" or "gateway:<name>". An
 * unknown key is refused and logged with its z85 prefix (at most BROKER_AUTH_LOG_LINES lines per
 * BROKER_AUTH_LOG_WINDOW_MS, the rest counted). The list is read again when its file changes.
 *
 * The broker's hooks (mdp_broker_security) then check each request by that User-Id:
 *   - a service key may send anything (it is trusted code: ROLE_SYSTEM, or the principal of the user
 *     a service acts for) and is the only kind that may register workers;
 *   - a gateway key may carry end users' principals only: an envelope whose caller says ROLE_SYSTEM
 *     or scope ALL is refused with a PERMISSION_DENIED Reply, as is one that cannot be decoded;
 *   - any other peer is refused.
 * The gateway's own in-process requests (mdp_broker_request) do not pass the socket at all.
 * The broker's local endpoint (ipc://, mdp_broker_security.local_endpoint) has no Curve: the file
 * system closes it to other users, and its peers are services ("service:local").
 */
#ifndef METODNET_BROKER_AUTH_H
#define METODNET_BROKER_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "curve_keys.h"
#include "mdp_broker.h"

#define BROKER_AUTH_ZAP_ENDPOINT  "inproc://zeromq.zap.01"
#define BROKER_AUTH_USER_ID_MAX   (CURVE_NAME_MAX + 16)
#define BROKER_AUTH_LOG_LINES     5
#define BROKER_AUTH_LOG_WINDOW_MS 10000

typedef struct broker_auth broker_auth;

/* Reads <keys_dir>/broker.key and <keys_dir>/clients and binds the ZAP handler on zmq_context (one
 * per context). NULL with a Russian reason in err. */
broker_auth *broker_auth_open(uv_loop_t *loop, void *zmq_context, const char *keys_dir, char *err, size_t err_size);
/* The same from memory (tests): the broker's secret key and the clients list, both copied. */
broker_auth *broker_auth_new(uv_loop_t *loop, void *zmq_context, const uint8_t secret_key[MDP_CURVE_KEY_BYTES],
                             const curve_client_list *clients, char *err, size_t err_size);

/* The broker's Curve server key and hooks; out->secret_key points into auth (valid while it lives).
 * local_endpoint: the broker's "ipc://<path>" for the workers of its own host (NULL: none); only
 * with it does the handler admit the NULL mechanism — the local listener's, the only one without
 * Curve — naming such peers BROKER_AUTH_LOCAL_USER_ID. */
void broker_auth_security(broker_auth *auth, const char *local_endpoint, mdp_broker_security *out);

/* The User-Id of a peer on the broker's local endpoint: a service (trusted as a service key is). */
#define BROKER_AUTH_LOCAL_USER_ID "service:local"

/* Connections refused by the ZAP handler since start. */
uint64_t broker_auth_refused_keys(const broker_auth *auth);

/* Closes the ZAP handler (after the broker: it must outlive the broker's socket) and frees auth;
 * the loop must run once more to close the handles. *auth = NULL; NULL-safe. */
void broker_auth_destroy(broker_auth **auth);

/* ---- the decisions, pure ---- */

/* The client of a ZAP request: mechanism must be "CURVE" and key a 32-byte key on the list. */
const curve_client *broker_auth_zap_decide(const curve_client_list *clients, const char *mechanism, const uint8_t *key,
                                           size_t key_len);
/* "service:<name>" / "gateway:<name>" into out (BROKER_AUTH_USER_ID_MAX bytes). */
void broker_auth_user_id(const curve_client *client, char *out);

typedef enum {
    BROKER_AUTH_ADMIT,
    BROKER_AUTH_REFUSE_SYSTEM,  /* ROLE_SYSTEM or scope ALL from a key that is not a service's */
    BROKER_AUTH_REFUSE_PEER,    /* a peer whose User-Id is neither a service's nor a gateway's */
    BROKER_AUTH_REFUSE_ENVELOPE /* a gateway's request that is not an Envelope */
} broker_auth_verdict;

/* May the peer user_id send this request body (a packed Envelope)? */
broker_auth_verdict broker_auth_check_request(const char *user_id, const uint8_t *body, size_t len);
/* May the peer user_id register workers? (service keys only) */
int broker_auth_may_serve(const char *user_id);
/* The packed Reply for a refused request (request id copied from the envelope when it decodes), a
 * Russian message; malloc'd, NULL when out of memory. */
uint8_t *broker_auth_refusal(broker_auth_verdict verdict, const uint8_t *body, size_t len, size_t *out_len);

/* Log rate limit: at most BROKER_AUTH_LOG_LINES lines a window. */
typedef struct {
    uint64_t window_start;
    unsigned lines;
    uint64_t suppressed; /* not logged since the last line that was */
} broker_auth_log_limit;

/* True when a line may be logged at now_ms; then *suppressed is how many were not logged before it
 * (and the count restarts). */
int broker_auth_log_allow(broker_auth_log_limit *limit, uint64_t now_ms, uint64_t *suppressed);

#endif
