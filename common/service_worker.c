/* service_worker — envelope dispatch for domain services on top of mdp_worker (see service_worker.h).
 * Every request gets exactly one Reply, whatever arrives: that is what keeps the broker's view of a
 * worker honest (a worker that swallowed a request would look busy forever). */
#include "service_worker.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "mdp_worker.h"
#include "process_health.h"
#include "request_envelope.h"
#include "xalloc.h"

struct service_worker {
    mdp_worker *worker;
    const char *service_name;
    const ProtobufCServiceDescriptor *descriptor;
    service_handler *handlers; /* by method index of the descriptor */
    void *ud;
};

struct service_call {
    service_worker *owner;
    mdp_worker_request *req;
    Metodnet__Envelope *envelope;
    const ProtobufCMethodDescriptor *method;
    ProtobufCMessage *request;
    uint64_t started_ns;
};

static const char *s_code_word(Metodnet__StatusCode code)
{
    const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value(&metodnet__status_code__descriptor, code);
    return value ? value->name + strlen("STATUS_CODE_") : "UNKNOWN";
}

/* Packs and sends a Reply; envelope may be NULL when it could not be decoded. */
/* The Reply with the response's packed bytes (payload, NULL = none) sent to the broker. */
static void s_send_packed(mdp_worker_request *req, const char *request_id, Metodnet__StatusCode code,
                          const char *message, const validation *violations, const uint8_t *payload, size_t payload_len,
                          int32_t retry_after_seconds)
{
    Metodnet__Reply reply = METODNET__REPLY__INIT;
    Metodnet__Status status = METODNET__STATUS__INIT;
    reply.request_id = (char *)(request_id ? request_id : "");
    reply.status = &status;
    status.code = code;
    status.message = (char *)(message ? message : "");
    status.retry_after_seconds = retry_after_seconds;
    if (violations) {
        status.violations = violations->items;
        status.n_violations = violations->n;
    }
    if (payload) {
        reply.payload.data = (uint8_t *)payload;
        reply.payload.len = payload_len;
    }
    size_t len = metodnet__reply__get_packed_size(&reply);
    uint8_t *buf = xmalloc(len ? len : 1);
    metodnet__reply__pack(&reply, buf);
    if (mdp_worker_reply(req, buf, len) != 0)
        log_warn(request_id, "ответ не доставлен: соединение с брокером было сброшено");
    free(buf);
}

static void s_send_status(mdp_worker_request *req, const char *request_id, Metodnet__StatusCode code,
                          const char *message, const validation *violations, const ProtobufCMessage *response,
                          int32_t retry_after_seconds)
{
    uint8_t *payload = NULL;
    size_t payload_len = 0;
    if (response) {
        payload_len = protobuf_c_message_get_packed_size(response);
        payload = xmalloc(payload_len ? payload_len : 1);
        protobuf_c_message_pack(response, payload);
    }
    s_send_packed(req, request_id, code, message, violations, payload, payload_len, retry_after_seconds);
    free(payload);
}

static void s_send(mdp_worker_request *req, const char *request_id, Metodnet__StatusCode code, const char *message,
                   const validation *violations, const ProtobufCMessage *response)
{
    s_send_status(req, request_id, code, message, violations, response, 0);
}

/* The codes that say the service failed, not the caller (process_health's "errors"). */
static bool s_server_error(Metodnet__StatusCode code)
{
    return code == METODNET__STATUS_CODE__STATUS_CODE_INTERNAL ||
           code == METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE ||
           code == METODNET__STATUS_CODE__STATUS_CODE_DEADLINE_EXCEEDED;
}

static void s_finish(service_call *call, Metodnet__StatusCode code)
{
    process_health_note_busy(-1);
    process_health_note_request(s_server_error(code));
    double ms = (double)(uv_hrtime() - call->started_ns) / 1e6;
    if (log_call_wanted(code != METODNET__STATUS_CODE__STATUS_CODE_OK, ms))
        log_info(call->envelope->request_id, "%s %s → %s за %.2f мс", call->owner->service_name, call->method->name,
                 s_code_word(code), ms);
    if (call->request)
        protobuf_c_message_free_unpacked(call->request, NULL);
    metodnet__envelope__free_unpacked(call->envelope, NULL);
    free(call);
}

void service_call_reply(service_call *call, const ProtobufCMessage *response)
{
    s_send(call->req, call->envelope->request_id, METODNET__STATUS_CODE__STATUS_CODE_OK, "", NULL, response);
    s_finish(call, METODNET__STATUS_CODE__STATUS_CODE_OK);
}

void service_call_reply_packed(service_call *call, const uint8_t *response, size_t len)
{
    s_send_packed(call->req, call->envelope->request_id, METODNET__STATUS_CODE__STATUS_CODE_OK, "", NULL,
                  response ? response : (const uint8_t *)"", len, 0);
    s_finish(call, METODNET__STATUS_CODE__STATUS_CODE_OK);
}

void service_call_fail(service_call *call, Metodnet__StatusCode code, const char *message_ru)
{
    s_send(call->req, call->envelope->request_id, code, message_ru, NULL, NULL);
    s_finish(call, code);
}

void service_call_fail_retry_after(service_call *call, const char *message_ru, int32_t retry_after_seconds)
{
    s_send_status(call->req, call->envelope->request_id, METODNET__STATUS_CODE__STATUS_CODE_TOO_MANY_REQUESTS,
                  message_ru, NULL, NULL, retry_after_seconds > 0 ? retry_after_seconds : 1);
    s_finish(call, METODNET__STATUS_CODE__STATUS_CODE_TOO_MANY_REQUESTS);
}

void service_call_fail_validation(service_call *call, const validation *v)
{
    s_send(call->req, call->envelope->request_id, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT,
           "Данные не прошли проверку", v, NULL);
    s_finish(call, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT);
}

const Metodnet__Principal *service_call_caller(const service_call *call)
{
    static const Metodnet__Principal nobody = METODNET__PRINCIPAL__INIT;
    return call->envelope->caller ? call->envelope->caller : &nobody;
}

const char *service_call_request_id(const service_call *call)
{
    return call->envelope->request_id;
}
const Metodnet__Envelope *service_call_envelope(const service_call *call)
{
    return call->envelope;
}
const ProtobufCMethodDescriptor *service_call_method(const service_call *call)
{
    return call->method;
}

static void s_on_request(mdp_worker *worker, mdp_worker_request *req, const uint8_t *body, size_t len, void *ud)
{
    (void)worker;
    service_worker *self = ud;
    request_envelope_opened opened;
    char message[256];
    Metodnet__StatusCode code = request_envelope_open(self->descriptor, self->service_name, body, len, clock_unix_ms(),
                                                      &opened, message, sizeof message);
    if (code != METODNET__STATUS_CODE__STATUS_CODE_OK) {
        if (opened.envelope == NULL)
            log_warn(NULL, "%s: отброшен запрос с неразборчивым конвертом (%zu байт)", self->service_name, len);
        s_send(req, opened.envelope ? opened.envelope->request_id : NULL, code, message, NULL, NULL);
        request_envelope_opened_free(&opened);
        process_health_note_request(s_server_error(code));
        return;
    }
    service_call *call = xcalloc(1, sizeof *call);
    call->owner = self;
    call->req = req;
    call->envelope = opened.envelope;
    call->method = opened.method;
    call->request = opened.request;
    call->started_ns = uv_hrtime();
    process_health_note_busy(+1);
    self->handlers[opened.method - self->descriptor->methods](call, opened.request, self->ud);
}

const char *service_methods_check(const service_methods *methods, char *buf, size_t size)
{
    const ProtobufCServiceDescriptor *d = methods->descriptor;
    for (size_t i = 0; i < methods->n_handlers; i++) {
        const service_handler_entry *h = &methods->handlers[i];
        if (h->handler == NULL || protobuf_c_service_descriptor_get_method_by_name(d, h->rpc) == NULL) {
            snprintf(buf, size, "обработчик %s: такого rpc нет в service %s", h->rpc, d->name);
            return buf;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(methods->handlers[j].rpc, h->rpc) == 0) {
                snprintf(buf, size, "два обработчика rpc %s.%s", d->name, h->rpc);
                return buf;
            }
    }
    for (unsigned m = 0; m < d->n_methods; m++) {
        bool handled = false;
        for (size_t i = 0; i < methods->n_handlers && !handled; i++)
            handled = strcmp(methods->handlers[i].rpc, d->methods[m].name) == 0;
        if (!handled) {
            snprintf(buf, size, "у rpc %s.%s нет обработчика", d->name, d->methods[m].name);
            return buf;
        }
    }
    return NULL;
}

service_worker *service_worker_new(uv_loop_t *loop, void *zmq_context, const char *broker_endpoint,
                                   const mdp_curve_keys *curve, const char *service_name, unsigned concurrency,
                                   mdp_heartbeat heartbeat, const service_methods *methods, void *ud)
{
    char problem[256];
    if (service_methods_check(methods, problem, sizeof problem) != NULL) {
        log_error(NULL, "%s: таблица методов не сходится с proto: %s", service_name, problem);
        return NULL;
    }
    service_worker *self = calloc(1, sizeof *self);
    if (self == NULL)
        return NULL;
    self->service_name = service_name;
    self->descriptor = methods->descriptor;
    self->handlers =
        calloc(methods->descriptor->n_methods ? methods->descriptor->n_methods : 1, sizeof *self->handlers);
    if (self->handlers == NULL) {
        free(self);
        return NULL;
    }
    for (size_t i = 0; i < methods->n_handlers; i++) {
        const ProtobufCMethodDescriptor *m =
            protobuf_c_service_descriptor_get_method_by_name(methods->descriptor, methods->handlers[i].rpc);
        self->handlers[m - methods->descriptor->methods] = methods->handlers[i].handler;
    }
    self->ud = ud;
    self->worker = mdp_worker_new(loop, zmq_context, broker_endpoint, curve, service_name, concurrency, heartbeat,
                                  s_on_request, self);
    if (self->worker == NULL) {
        free(self->handlers);
        free(self);
        return NULL;
    }
    return self;
}

typedef struct {
    service_worker *self;
    void (*done)(void *);
    void *ud;
} s_shutdown_ctx;

static void s_worker_stopped(void *ud)
{
    s_shutdown_ctx *ctx = ud;
    void (*done)(void *) = ctx->done;
    void *done_ud = ctx->ud;
    free(ctx->self->handlers);
    free(ctx->self);
    free(ctx);
    if (done)
        done(done_ud);
}

typedef struct {
    void (*release)(void *service);
    void *service;
    void (*done)(void *);
    void *ud;
} s_service_stop;

static void s_service_stopped(void *ud)
{
    s_service_stop *stop = ud;
    stop->release(stop->service);
    if (stop->done)
        stop->done(stop->ud);
    free(stop);
}

void service_worker_stop_service(service_worker *worker, uint32_t grace_ms, void (*release)(void *service),
                                 void *service, void (*done)(void *ud), void *ud)
{
    s_service_stop *stop = xmalloc(sizeof *stop);
    *stop = (s_service_stop){release, service, done, ud};
    service_worker_shutdown(worker, grace_ms, s_service_stopped, stop);
}

void service_worker_shutdown(service_worker *worker, uint32_t grace_ms, void (*done)(void *ud), void *ud)
{
    s_shutdown_ctx *ctx = xmalloc(sizeof *ctx);
    ctx->self = worker;
    ctx->done = done;
    ctx->ud = ud;
    mdp_worker_shutdown(worker->worker, grace_ms, s_worker_stopped, ctx);
}
