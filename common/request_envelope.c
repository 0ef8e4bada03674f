/* request_envelope — packing the MDP request Envelope (see request_envelope.h). */
#include "request_envelope.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

uint8_t *request_envelope_pack(const request_envelope *request, size_t *len)
{
    size_t payload_len = protobuf_c_message_get_packed_size(request->message);
    uint8_t *payload = malloc(payload_len ? payload_len : 1);
    char *key = NULL;
    if (payload == NULL)
        return NULL;
    protobuf_c_message_pack(request->message, payload);
    if (request->idempotency_key && request->idempotency_key_end) {
        size_t key_len = (size_t)(request->idempotency_key_end - request->idempotency_key);
        key = malloc(key_len + 1);
        if (key == NULL) {
            free(payload);
            return NULL;
        }
        memcpy(key, request->idempotency_key, key_len);
        key[key_len] = '\0';
    }
    Metodnet__Envelope envelope = METODNET__ENVELOPE__INIT;
    envelope.request_id = (char *)(request->request_id ? request->request_id : "");
    envelope.method = (char *)request->method;
    envelope.caller = (Metodnet__Principal *)request->caller;
    envelope.deadline_unix_ms = clock_unix_ms() + request->timeout_ms;
    envelope.idempotency_key = key ? key : (char *)(request->idempotency_key ? request->idempotency_key : "");
    envelope.client_address = (char *)(request->client_address ? request->client_address : "");
    envelope.payload.data = payload;
    envelope.payload.len = payload_len;
    *len = metodnet__envelope__get_packed_size(&envelope);
    uint8_t *body = malloc(*len ? *len : 1);
    if (body != NULL)
        metodnet__envelope__pack(&envelope, body);
    if (request->secret)
        sodium_memzero(payload, payload_len);
    free(payload);
    free(key);
    return body;
}
