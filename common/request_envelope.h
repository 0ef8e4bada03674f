/* request_envelope — the one place an MDP request body (the Envelope of proto/envelope.proto) is
 * made: by the gateway for a route, by the gateway for auth.Authenticate, by service_client for one
 * service calling another. The request message is packed into the payload here; the deadline is
 * "now + timeout".
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

#endif
