/* service_worker — what a domain service is made of on top of mdp_worker: unpacks the Envelope,
 * checks its deadline, finds the method in the service's table, unpacks the request message and
 * calls the handler; the handler answers once with service_call_reply() or service_call_fail().
 * Malformed envelopes, unknown methods, undecodable payloads and passed deadlines are answered with
 * an error Reply here, so handlers only ever see well-formed requests.
 */
#ifndef METODNET_SERVICE_WORKER_H
#define METODNET_SERVICE_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "envelope.pb-c.h"
#include "mdp.h"
#include "validate.h"

typedef struct service_worker service_worker;
typedef struct service_call service_call;

/* request is owned by the call and freed when the call is answered. */
typedef void (*service_handler)(service_call *call, const ProtobufCMessage *request, void *ud);

/* The handler of one rpc, by its name in the proto `service` block. */
typedef struct {
    const char *rpc; /* "CreateStaff" */
    service_handler handler;
} service_handler_entry;

/* A service's methods: the rpcs (names, request and response types) come from its proto service
 * descriptor (proto/<name>_service.proto), the handlers from the service; each rpc has exactly one. */
typedef struct {
    const ProtobufCServiceDescriptor *descriptor;
    const service_handler_entry *handlers;
    size_t n_handlers;
} service_methods;

/* NULL when every rpc of the descriptor has exactly one handler and every handler names an rpc, else
 * what is wrong, written into buf. */
const char *service_methods_check(const service_methods *methods, char *buf, size_t size);

/* methods is borrowed (normally static). Dispatch is a binary search on the rpc name (the
 * descriptor's method_indices_by_name). curve: the service's Curve keys (config.broker_curve; NULL =
 * plain, unit tests). NULL when service_methods_check fails (logged) or the MDP worker cannot be
 * made. ud is passed to every handler. */
service_worker *service_worker_new(uv_loop_t *loop, void *zmq_context, const char *broker_endpoint,
                                   const mdp_curve_keys *curve, const char *service_name, unsigned concurrency,
                                   mdp_heartbeat heartbeat, const service_methods *methods, void *ud);

/* Graceful stop (see mdp_worker_shutdown); frees the worker, then calls done. */
void service_worker_shutdown(service_worker *worker, uint32_t grace_ms, void (*done)(void *ud), void *ud);

/* The stop of a whole service built on one worker: stops the worker gracefully, then calls
 * release(service) so the service frees its own parts, then done(ud) (done may be NULL). */
void service_worker_stop_service(service_worker *worker, uint32_t grace_ms, void (*release)(void *service),
                                 void *service, void (*done)(void *ud), void *ud);

/* Borrowed from the call; valid until it is answered. */
const Metodnet__Principal *service_call_caller(const service_call *call);
const char *service_call_request_id(const service_call *call);
const Metodnet__Envelope *service_call_envelope(const service_call *call);
/* The rpc being answered: name, request (input) and response (output) types. */
const ProtobufCMethodDescriptor *service_call_method(const service_call *call);

/* Answers OK with response (packed here; still owned by the caller). Frees the call. */
void service_call_reply(service_call *call, const ProtobufCMessage *response);
/* The same with the response already packed (a record's stored bytes, when nothing is redacted: no
 * unpack-pack round trip); the bytes must be a message of the method's output type. */
void service_call_reply_packed(service_call *call, const uint8_t *response, size_t len);
/* Answers with an error; message_ru is a Russian sentence for a person. Frees the call. */
void service_call_fail(service_call *call, Metodnet__StatusCode code, const char *message_ru);
/* Answers TOO_MANY_REQUESTS with Status.retry_after_seconds (at least 1), which the gateway sends as
 * Retry-After. Frees the call. */
void service_call_fail_retry_after(service_call *call, const char *message_ru, int32_t retry_after_seconds);
/* Answers INVALID_ARGUMENT with every violation collected in v (v is left intact). Frees the call. */
void service_call_fail_validation(service_call *call, const validation *v);

#endif
