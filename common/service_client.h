/* service_client — one service calling another through the broker: "call service.method with this
 * request message as this principal, get a status and the decoded response". It packs the Envelope
 * (request id, method, caller, deadline, payload), sends it with mdp_client, unpacks the Reply and the
 * response message, and maps transport failures to statuses, so a caller only ever sees a status.
 *
 * Transport failures: no reply before the deadline → DEADLINE_EXCEEDED; the worker died, the client
 * shut down → UNAVAILABLE; an undecodable Reply or response → INTERNAL. Each with a Russian message.
 */
#ifndef METODNET_SERVICE_CLIENT_H
#define METODNET_SERVICE_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "envelope.pb-c.h"
#include "mdp_client.h"

typedef struct service_client service_client;

/* status and response are borrowed for the duration of the call. status is never NULL; response is
 * non-NULL exactly when status->code == OK (an empty payload decodes to a default message). */
typedef void (*service_client_cb)(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud);

/* Opens its own mdp_client on zmq_context (borrowed) with the service's Curve keys (config.broker_curve;
 * NULL = plain, unit tests). Returns NULL on failure. */
service_client *service_client_new(uv_loop_t *loop, void *zmq_context, const char *broker_endpoint,
                                   const mdp_curve_keys *curve);

typedef struct {
    const char *service;                        /* "registry" */
    const char *method;                         /* "GetOrganization" */
    const ProtobufCMessage *request;            /* packed here; still owned by the caller */
    const ProtobufCMessageDescriptor *response; /* what the payload of an OK reply is */
    const Metodnet__Principal *caller;          /* who asks (NULL = nobody, which services refuse) */
    const char *request_id;                     /* for logs end to end; NULL = "" */
    const char *client_address;                 /* NULL = "" */
    uint32_t timeout_ms;                        /* 0 = 5000 */
} service_client_request;

/* Sends the request. cb is called exactly once, never from inside this call. Returns 0, or -1 with cb
 * not called when the arguments are invalid. All inputs are copied or packed before returning. */
int service_client_call(service_client *client, const service_client_request *request, service_client_cb cb, void *ud);

/* A principal that may do anything (ROLE_SYSTEM, SCOPE_KIND_ALL), for calls a service makes on its own
 * behalf after it has checked its caller itself. Borrowed, static. */
const Metodnet__Principal *service_client_system_principal(void);

/* One record by id (a Get… rpc whose request is GetRequest, e.g. registry GetStaff), asked as the system
 * (service_client_system_principal) with the default timeout: for a service that has checked its own
 * caller and needs the record behind an id. As service_client_call otherwise. */
int service_client_get_as_system(service_client *client, const char *service, const char *method, const char *id,
                                 const ProtobufCMessageDescriptor *response, const char *request_id,
                                 service_client_cb cb, void *ud);

/* Fails pending calls with UNAVAILABLE (their callbacks are called from inside this call), frees the
 * client; *client = NULL. */
void service_client_destroy(service_client **client);

#endif
