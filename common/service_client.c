/* service_client — Envelope → mdp_client → Reply round trip for calls between services (see header). */
#include "service_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "request_envelope.h"

struct service_client {
    mdp_client *mdp;
};

typedef struct {
    const ProtobufCMessageDescriptor *response;
    service_client_cb cb;
    void *ud;
    char method[64];
    char request_id[80];
} s_pending;

static const Metodnet__Principal s_system = {
    PROTOBUF_C_MESSAGE_INIT(&metodnet__principal__descriptor),
    (char *)"",
    METODNET__ROLE__ROLE_SYSTEM,
    METODNET__SCOPE_KIND__SCOPE_KIND_ALL,
    (char *)"",
    (char *)"",
    (char *)"",
};

const Metodnet__Principal *service_client_system_principal(void)
{
    return &s_system;
}

service_client *service_client_new(uv_loop_t *loop, void *zmq_context, const char *broker_endpoint,
                                   const mdp_curve_keys *curve)
{
    service_client *client = calloc(1, sizeof *client);
    if (client == NULL)
        return NULL;
    client->mdp = mdp_client_new(loop, zmq_context, broker_endpoint, curve);
    if (client->mdp == NULL) {
        free(client);
        return NULL;
    }
    return client;
}

static void s_fail(s_pending *p, Metodnet__StatusCode code, const char *message)
{
    Metodnet__Status status = METODNET__STATUS__INIT;
    status.code = code;
    status.message = (char *)message;
    p->cb(&status, NULL, p->ud);
}

static void s_on_reply(int result, const uint8_t *body, size_t len, void *ud)
{
    s_pending *p = ud;
    if (result != MDP_OK) {
        log_warn(p->request_id, "вызов %s не выполнен: %s", p->method,
                 result == MDP_ERR_TIMEOUT ? "истёк срок ответа" : "служба недоступна");
        if (result == MDP_ERR_TIMEOUT)
            s_fail(p, METODNET__STATUS_CODE__STATUS_CODE_DEADLINE_EXCEEDED, "Служба не ответила вовремя");
        else
            s_fail(p, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, "Служба временно недоступна");
        free(p);
        return;
    }
    Metodnet__Reply *reply = metodnet__reply__unpack(NULL, len, body);
    if (reply == NULL) {
        log_error(p->request_id, "вызов %s: ответ службы не разбирается", p->method);
        s_fail(p, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Служба прислала неразборчивый ответ");
        free(p);
        return;
    }
    Metodnet__Status ok = METODNET__STATUS__INIT;
    const Metodnet__Status *status = reply->status ? reply->status : &ok;
    if (status->code != METODNET__STATUS_CODE__STATUS_CODE_OK) {
        p->cb(status, NULL, p->ud);
    } else {
        ProtobufCMessage *response =
            protobuf_c_message_unpack(p->response, NULL, reply->payload.len, reply->payload.data);
        if (response == NULL) {
            log_error(p->request_id, "вызов %s: тело ответа не разбирается", p->method);
            s_fail(p, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Служба прислала неразборчивый ответ");
        } else {
            p->cb(status, response, p->ud);
            protobuf_c_message_free_unpacked(response, NULL);
        }
    }
    metodnet__reply__free_unpacked(reply, NULL);
    free(p);
}

int service_client_call(service_client *client, const service_client_request *request, service_client_cb cb, void *ud)
{
    if (client == NULL || request == NULL || request->service == NULL || request->method == NULL ||
        request->request == NULL || request->response == NULL || cb == NULL)
        return -1;
    uint32_t timeout_ms = request->timeout_ms ? request->timeout_ms : 5000;
    s_pending *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -1;
    p->response = request->response;
    p->cb = cb;
    p->ud = ud;
    snprintf(p->method, sizeof p->method, "%s.%s", request->service, request->method);
    snprintf(p->request_id, sizeof p->request_id, "%s", request->request_id ? request->request_id : "");

    request_envelope envelope = {
        .method = request->method,
        .message = request->request,
        .caller = request->caller,
        .request_id = p->request_id,
        .client_address = request->client_address,
        .timeout_ms = timeout_ms,
    };
    size_t len = 0;
    uint8_t *body = request_envelope_pack(&envelope, &len);
    if (body == NULL) {
        free(p);
        return -1;
    }
    int rc = mdp_client_request(client->mdp, request->service, body, len, timeout_ms, s_on_reply, p);
    free(body);
    if (rc != 0) {
        free(p);
        return -1;
    }
    return 0;
}

void service_client_destroy(service_client **clientp)
{
    if (clientp == NULL || *clientp == NULL)
        return;
    service_client *client = *clientp;
    *clientp = NULL;
    mdp_client_destroy(&client->mdp);
    free(client);
}

int service_client_get_as_system(service_client *client, const char *service, const char *method, const char *id,
                                 const ProtobufCMessageDescriptor *response, const char *request_id,
                                 service_client_cb cb, void *ud)
{
    Metodnet__GetRequest get = METODNET__GET_REQUEST__INIT;
    get.id = (char *)id;
    service_client_request r = {.service = service,
                                .method = method,
                                .request = &get.base,
                                .response = response,
                                .caller = service_client_system_principal(),
                                .request_id = request_id,
                                .timeout_ms = 5000};
    return service_client_call(client, &r, cb, ud);
}
