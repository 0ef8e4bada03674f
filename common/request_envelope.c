/* request_envelope — packing and opening the MDP request Envelope (see request_envelope.h). */
#include "request_envelope.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pbfield.h"
#include "utf8.h"

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

Metodnet__StatusCode request_envelope_open(const ProtobufCServiceDescriptor *service, const char *service_name,
                                           const uint8_t *body, size_t len, int64_t now_unix_ms,
                                           request_envelope_opened *opened, char *message, size_t size)
{
    *opened = (request_envelope_opened){NULL, NULL, NULL};
    snprintf(message, size, "%s", "");
    opened->envelope = metodnet__envelope__unpack(NULL, len, body);
    if (opened->envelope != NULL && pbfield_has_field_zero(&opened->envelope->base)) {
        metodnet__envelope__free_unpacked(opened->envelope, NULL); /* not an envelope this platform writes */
        opened->envelope = NULL;
    }
    if (opened->envelope == NULL) {
        snprintf(message, size, "Неверный формат запроса к службе");
        return METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT;
    }
    const char *name = opened->envelope->method;
    opened->method = protobuf_c_service_descriptor_get_method_by_name(service, name);
    if (opened->method == NULL) {
        /* the name is quoted only when it is text, and cut on a letter boundary */
        size_t name_len = strlen(name);
        if (utf8_valid(name, name_len))
            snprintf(message, size, "Служба «%s» не знает метода «%.*s»", service_name,
                     (int)utf8_prefix(name, name_len, 64), name);
        else
            snprintf(message, size, "Служба «%s» не знает такого метода", service_name);
        return METODNET__STATUS_CODE__STATUS_CODE_UNIMPLEMENTED;
    }
    if (opened->envelope->deadline_unix_ms > 0 && now_unix_ms > opened->envelope->deadline_unix_ms) {
        snprintf(message, size, "Срок выполнения запроса истёк");
        return METODNET__STATUS_CODE__STATUS_CODE_DEADLINE_EXCEEDED;
    }
    opened->request = protobuf_c_message_unpack(opened->method->input, NULL, opened->envelope->payload.len,
                                                opened->envelope->payload.data);
    if (opened->request != NULL && pbfield_has_field_zero(opened->request)) {
        protobuf_c_message_free_unpacked(opened->request, NULL); /* a refusal hands out no request */
        opened->request = NULL;
    }
    if (opened->request == NULL) {
        snprintf(message, size, "Неверный формат тела запроса к службе");
        return METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT;
    }
    return METODNET__STATUS_CODE__STATUS_CODE_OK;
}

void request_envelope_opened_free(request_envelope_opened *opened)
{
    if (opened->request)
        protobuf_c_message_free_unpacked(opened->request, NULL);
    if (opened->envelope)
        metodnet__envelope__free_unpacked(opened->envelope, NULL);
    *opened = (request_envelope_opened){NULL, NULL, NULL};
}
