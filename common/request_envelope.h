/* request_envelope — the one place an MDP request body (the Envelope of proto/envelope.proto) is
 * made: by the gateway for a route, by the gateway for auth.Authenticate, by service_client for one
 * service calling another. The request message is packed into the payload here; the deadline is
 * "now + timeout". And the one place it is opened again, by the service's worker (service_worker).
 */
#ifndef METODNET_REQUEST_ENVELOPE_H
#define METODNET_REQUEST_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.pb-c.h"

typedef struct {
    const char *method;                /* the rpc, "CreateStaff" */
    const ProtobufCMessage *message;   /* the request, packed into the payload */
    const Metodnet__Principal *caller; /* NULL = nobody (services refuse it) */
    const char *request_id;            /* NULL = "" */
    const char *client_address;        /* NULL = "" */
    const char *idempotency_key;       /* NULL = "" */
    const char *idempotency_key_end;   /* NULL: idempotency_key is NUL-terminated; else its end */
    uint32_t timeout_ms;               /* deadline = now + timeout_ms */
    int secret;                        /* non-zero: the payload scratch copy is wiped before it is freed */
} request_envelope;

/* The packed Envelope in a malloc'd buffer (caller frees; wipe it first when secret), *len its size;
 * NULL when out of memory. */
uint8_t *request_envelope_pack(const request_envelope *request, size_t *len);

/* A request body as a service opens it (service_worker): the Envelope, the rpc it names in the
 * service's descriptor and its payload unpacked as that rpc's request type. */
typedef struct {
    Metodnet__Envelope *envelope;            /* NULL when the body is no Envelope */
    const ProtobufCMethodDescriptor *method; /* NULL unless the method is one of the service's */
    ProtobufCMessage *request;               /* NULL unless the whole request could be read */
} request_envelope_opened;

/* Opens the packed Envelope body[len] for the service of descriptor service (named service_name in
 * messages): STATUS_CODE_OK with every member of *opened set, or the code to answer with (INVALID_ARGUMENT
 * for a body or payload that does not unpack, UNIMPLEMENTED for a method the service does not have,
 * DEADLINE_EXCEEDED when now_unix_ms is past the envelope's deadline) and a Russian message (valid
 * UTF-8) in message[size]; opened->envelope is kept whenever it unpacked (its request_id is for the
 * reply). Release with request_envelope_opened_free() either way. */
Metodnet__StatusCode request_envelope_open(const ProtobufCServiceDescriptor *service, const char *service_name,
                                           const uint8_t *body, size_t len, int64_t now_unix_ms,
                                           request_envelope_opened *opened, char *message, size_t size);

/* Frees what request_envelope_open() unpacked and clears *opened. */
void request_envelope_opened_free(request_envelope_opened *opened);

#endif
