/* http — h2o request handling for the gateway (see http.h).
 *
 * Invariants:
 *  - every response goes through s_send(), which sets X-Request-Id and counts the metrics;
 *  - a s_call lives while it is referenced by the h2o request pool (dispose hook) or by an
 *    outstanding callback (broker reply, Redis reply); `req` is NULL once h2o has disposed it;
 *  - calls waiting for the broker are on http->calls, which a 250 ms timer scans for the HTTP-side
 *    deadline (request timeout + 1 s), a guard behind the broker's own deadline.
 */
#include "http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <h2o.h>
#include <sodium.h>

#include "api_error.h"
#include "auth.h"
#include "clock.h"
#include "envelope.pb-c.h"
#include "idempotency.h"
#include "log.h"
#include "metrics.h"
#include "openapi.h"
#include "pbfield.h"
#include "pbjson.h"
#include "request_envelope.h"
#include "routes.h"

#define S_JSON                "application/json; charset=utf-8"
#define S_UNAVAILABLE_MESSAGE "Служба временно недоступна, повторите запрос позже"
#define S_GUARD_MS            1000
/* h2o answers bodies above its own limit itself, in plain text; below it the handler answers the
 * API's JSON 413. 40 MiB leaves room for CSV imports, whose routes take larger bodies. */
#define S_H2O_BODY_LIMIT (40u * 1024 * 1024)
#define S_TICK_MS        250

typedef struct s_call s_call;

typedef struct {
    h2o_handler_t super;
    gateway_http *http;
} s_handler;

typedef struct {
    uv_tcp_t tcp;
    gateway_http *http;
} s_connection;

struct gateway_http {
    uv_loop_t *loop;
    gateway_http_options options;
    char *required_services; /* owned copy */
    mdp_broker *broker;
    redis_link *redis;
    gateway_idempotency *idempotency;
    gateway_auth *auth;
    gateway_metrics *metrics;
    char *openapi;
    size_t openapi_len;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    uv_tcp_t *listener; /* NULL once closed */
    uv_timer_t *tick;   /* NULL once closed */
    int port;
    size_t connections;
    bool stopping;
    s_call *calls; /* waiting for the broker */
};

struct s_call {
    gateway_http *http;
    h2o_req_t *req; /* NULL once h2o disposed the request */
    unsigned refs;
    bool responded;
    const route *route;
    char label[112];
    char request_id[72];
    uint64_t started_ns;
    uint64_t guard_ns;
    mdp_pending *pending;
    s_call *prev, *next;
    char *path; /* without query, for Location */
    uint8_t *envelope;
    size_t envelope_len;
    char *idempotency_key; /* Redis key, NULL when the request has none */
    char fingerprint[IDEMPOTENCY_FINGERPRINT_HEX];
    int retry_after;              /* from Status.retry_after_seconds, for the Retry-After header */
    ProtobufCMessage *msg;        /* the request message, until the envelope is built */
    gateway_auth_wait *auth_wait; /* while the caller is being authenticated */
    char *idem_value;             /* the Idempotency-Key header value, NULL when absent */
    char *token;                  /* the bearer token, only for ROUTE_TOKEN routes */
    char client_address[128];
    uint32_t timeout_ms; /* the route's deadline for the service */
};

/* ---- small helpers ---- */

static const char *s_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Error";
    }
}

static bool s_request_id_sane(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

static void s_request_id(h2o_req_t *req, char out[72])
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    if (i != -1 && s_request_id_sane(req->headers.entries[i].value.base, req->headers.entries[i].value.len)) {
        memcpy(out, req->headers.entries[i].value.base, req->headers.entries[i].value.len);
        out[req->headers.entries[i].value.len] = '\0';
        return;
    }
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, 72, raw, sizeof raw);
}

/* Borrowed header value or NULL. */
static const h2o_iovec_t *s_header(h2o_req_t *req, const h2o_token_t *token)
{
    ssize_t i = h2o_find_header(&req->headers, token, -1);
    return i == -1 ? NULL : &req->headers.entries[i].value;
}

static double s_seconds_since(uint64_t started_ns)
{
    return (double)(uv_hrtime() - started_ns) / 1e9;
}

typedef struct {
    const char *etag;
    const char *location;
    const char *allow;
    bool replayed;
    int retry_after;                 /* seconds, 0 = no Retry-After */
    const char *content_disposition; /* CSV downloads */
} s_extra;

/* Sends one complete response (body copied into the request pool) and counts it. */
static void s_send(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id, uint64_t started_ns,
                   int status, const char *content_type, const char *body, size_t len, const s_extra *extra)
{
    req->res.status = status;
    req->res.reason = s_reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    h2o_iovec_t rid = h2o_strdup(&req->pool, request_id, SIZE_MAX);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, rid.base, rid.len);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    /* Every 503 says when to come back (RFC 9110 §10.2.3): a restart or a reload takes seconds. */
    if (status == 503 && (extra == NULL || extra->retry_after <= 0))
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
    if (extra != NULL) {
        if (extra->etag != NULL && extra->etag[0] != '\0') {
            h2o_iovec_t v = h2o_strdup(&req->pool, extra->etag, SIZE_MAX);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, v.base, v.len);
        }
        if (extra->location != NULL && extra->location[0] != '\0') {
            h2o_iovec_t v = h2o_strdup(&req->pool, extra->location, SIZE_MAX);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, v.base, v.len);
        }
        if (extra->allow != NULL) {
            h2o_iovec_t v = h2o_strdup(&req->pool, extra->allow, SIZE_MAX);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, v.base, v.len);
        }
        if (extra->retry_after > 0) {
            char text[16];
            int n = snprintf(text, sizeof text, "%d", extra->retry_after);
            h2o_iovec_t v = h2o_strdup(&req->pool, text, (size_t)n);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, v.base, v.len);
        }
        if (extra->content_disposition != NULL) {
            h2o_iovec_t v = h2o_strdup(&req->pool, extra->content_disposition, SIZE_MAX);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_DISPOSITION, NULL, v.base, v.len);
        }
        if (extra->replayed)
            h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("idempotent-replayed"), 0, NULL,
                                  H2O_STRLIT("true"));
    }
    gateway_metrics_observe(http->metrics, label, status, s_seconds_since(started_ns));
    if (status >= 500)
        log_warn(request_id, "%s → %d", label, status);
    req->res.content_length = len;
    h2o_send_inline(req, body, len);
}

static void s_send_error(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id,
                         uint64_t started_ns, int status, const char *code, const char *message,
                         const api_error_detail *details, size_t n_details, const s_extra *extra)
{
    size_t len = 0;
    char *body =
        api_error_json(code ? code : api_error_code_for_http(status), message, details, n_details, request_id, &len);
    if (body == NULL) {
        static const char fallback[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"Внутренняя ошибка\",\"details\":[],\"requestId\":\"\"}}";
        s_send(http, req, label, request_id, started_ns, 500, S_JSON, fallback, sizeof fallback - 1, NULL);
        return;
    }
    s_send(http, req, label, request_id, started_ns, status, S_JSON, body, len, extra);
    free(body);
}

/* ---- calls ---- */

static void s_call_unlink(s_call *call)
{
    gateway_http *http = call->http;
    if (call->prev != NULL)
        call->prev->next = call->next;
    else if (http->calls == call)
        http->calls = call->next;
    if (call->next != NULL)
        call->next->prev = call->prev;
    call->prev = call->next = NULL;
}

/* Drops n references; the last one frees the call. */
static void s_call_release(s_call *call, unsigned n)
{
    call->refs -= n;
    if (call->refs > 0)
        return;
    free(call->path);
    free(call->envelope);
    free(call->idempotency_key);
    free(call->idem_value);
    if (call->token) {
        memset(call->token, 0, strlen(call->token));
        free(call->token);
    }
    if (call->msg)
        protobuf_c_message_free_unpacked(call->msg, NULL);
    free(call);
}

static void s_call_unref(s_call *call)
{
    s_call_release(call, 1);
}

static void s_on_req_dispose(void *p)
{
    s_call *call = *(s_call **)p;
    unsigned released = 1; /* the request pool's own reference */
    call->req = NULL;
    if (call->auth_wait != NULL) {
        /* the client went away while we asked who it is */
        gateway_auth_cancel(call->auth_wait);
        call->auth_wait = NULL;
        released++;
    }
    if (call->pending != NULL && call->idempotency_key == NULL) {
        /* the client went away: nobody will read the reply */
        mdp_broker_cancel(call->pending);
        call->pending = NULL;
        s_call_unlink(call);
        released++;
    }
    s_call_release(call, released);
}

static s_call *s_call_new(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id,
                          uint64_t started_ns)
{
    s_call *call = calloc(1, sizeof *call);
    if (call == NULL)
        return NULL;
    s_call **slot = h2o_mem_alloc_shared(&req->pool, sizeof *slot, s_on_req_dispose);
    *slot = call;
    call->http = http;
    call->req = req;
    call->refs = 1; /* the request pool's reference */
    snprintf(call->label, sizeof call->label, "%s", label);
    snprintf(call->request_id, sizeof call->request_id, "%s", request_id);
    call->started_ns = started_ns;
    return call;
}

static void s_call_error(s_call *call, int status, const char *code, const char *message,
                         const api_error_detail *details, size_t n)
{
    if (call->req == NULL || call->responded)
        return;
    call->responded = true;
    s_extra extra = {NULL, NULL, NULL, false, call->retry_after, NULL};
    s_send_error(call->http, call->req, call->label, call->request_id, call->started_ns, status, code, message, details,
                 n, &extra);
}

/* Ends the idempotency record of call with the outcome (stored or deleted). */
static void s_idempotency_finish(s_call *call, int status, const char *body, size_t len, const char *etag,
                                 const char *location)
{
    if (call->idempotency_key == NULL || call->http->idempotency == NULL)
        return;
    idempotency_reply reply = {status, body, len, etag ? etag : "", location ? location : ""};
    idempotency_complete(call->http->idempotency, call->idempotency_key, call->fingerprint, &reply);
}

static void s_finish_error(s_call *call, int status, const char *code, const char *message,
                           const api_error_detail *details, size_t n)
{
    if (call->idempotency_key != NULL) {
        size_t len = 0;
        char *body =
            api_error_json(code ? code : api_error_code_for_http(status), message, details, n, call->request_id, &len);
        s_idempotency_finish(call, status, body, len, NULL, NULL);
        free(body);
    }
    s_call_error(call, status, code, message, details, n);
}

static const char *s_default_message(int http_status)
{
    switch (http_status) {
    case 400:
        return "Некорректный запрос";
    case 401:
        return "Требуется аутентификация";
    case 403:
        return "Недостаточно прав";
    case 404:
        return "Объект не найден";
    case 409:
        return "Конфликт с текущим состоянием";
    case 412:
        return "Версия объекта изменилась; получите его заново";
    case 422:
        return "Запрос не может быть выполнен";
    case 429:
        return "Слишком много запросов, повторите позже";
    case 501:
        return "Операция не поддерживается";
    case 503:
        return S_UNAVAILABLE_MESSAGE;
    case 504:
        return "Служба не ответила вовремя";
    default:
        return "Внутренняя ошибка";
    }
}

#define S_CSV "text/csv; charset=utf-8"

/* ROUTE_CSV_OUT: the response's csv bytes are the body; response is freed. */
static void s_send_csv(s_call *call, ProtobufCMessage *response)
{
    const ProtobufCFieldDescriptor *f = response ? pbjson_find_field(response->descriptor, "csv") : NULL;
    if (f == NULL || f->type != PROTOBUF_C_TYPE_BYTES || f->label == PROTOBUF_C_LABEL_REPEATED) {
        log_error(call->request_id, "ответ %s без поля csv", call->route->rpc);
        if (response)
            protobuf_c_message_free_unpacked(response, NULL);
        s_finish_error(call, 500, "internal", "Служба вернула некорректный ответ", NULL, 0);
        return;
    }
    const ProtobufCBinaryData *csv = (const ProtobufCBinaryData *)((const char *)response + f->offset);
    const char *filename = pbfield_string(response, "filename");
    char disposition[200] = "attachment";
    /* only a plain file name goes into the header */
    if (filename != NULL && *filename &&
        strspn(filename, "abcdefghijklmnopqrstuvwxyz0123456789-_.") == strlen(filename) && strlen(filename) < 100)
        snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", filename);
    if (call->req != NULL && !call->responded) {
        call->responded = true;
        s_extra extra = {NULL, NULL, NULL, false, 0, disposition};
        s_send(call->http, call->req, call->label, call->request_id, call->started_ns,
               route_success_status(call->route), S_CSV, (const char *)csv->data, csv->len, &extra);
    }
    protobuf_c_message_free_unpacked(response, NULL);
}

/* Turns the service's Reply into the HTTP response. */
static void s_on_reply(int result, const uint8_t *body, size_t len, void *ud)
{
    s_call *call = ud;
    gateway_http *http = call->http;
    call->pending = NULL;
    s_call_unlink(call);
    if (result != MDP_OK) {
        if (result == MDP_ERR_TIMEOUT &&
            (http->broker == NULL || mdp_broker_worker_count(http->broker, call->route->service) > 0))
            s_finish_error(call, 504, "deadline_exceeded", "Служба не ответила вовремя", NULL, 0);
        else if (result == MDP_ERR_INVALID)
            s_finish_error(call, 500, "internal", "Внутренняя ошибка шлюза", NULL, 0);
        else
            s_finish_error(call, 503, "unavailable", S_UNAVAILABLE_MESSAGE, NULL, 0);
        s_call_unref(call);
        return;
    }
    Metodnet__Reply *reply = metodnet__reply__unpack(NULL, len, body);
    if (reply == NULL) {
        log_error(call->request_id, "служба %s вернула нераспознаваемый ответ (%zu байт)", call->route->service, len);
        s_finish_error(call, 500, "internal", "Служба вернула некорректный ответ", NULL, 0);
        s_call_unref(call);
        return;
    }
    int code = reply->status ? (int)reply->status->code : METODNET__STATUS_CODE__STATUS_CODE_OK;
    if (code != METODNET__STATUS_CODE__STATUS_CODE_OK) {
        const char *word;
        int status = api_error_http_status(code, &word);
        size_t n = reply->status->n_violations;
        api_error_detail *details = n ? calloc(n, sizeof *details) : NULL;
        if (details == NULL)
            n = 0;
        for (size_t i = 0; i < n; i++) {
            details[i].field = reply->status->violations[i] ? reply->status->violations[i]->field : "";
            details[i].description = reply->status->violations[i] ? reply->status->violations[i]->description : "";
        }
        const char *message =
            reply->status->message && reply->status->message[0] ? reply->status->message : s_default_message(status);
        if (reply->status->retry_after_seconds > 0)
            call->retry_after = reply->status->retry_after_seconds;
        s_finish_error(call, status, word, message, details, n);
        free(details);
        metodnet__reply__free_unpacked(reply, NULL);
        s_call_unref(call);
        return;
    }
    ProtobufCMessage *response =
        protobuf_c_message_unpack(route_method(call->route)->output, NULL, reply->payload.len, reply->payload.data);
    metodnet__reply__free_unpacked(reply, NULL);
    if (call->route->flags & ROUTE_CSV_OUT) {
        s_send_csv(call, response);
        s_call_unref(call);
        return;
    }
    size_t json_len = 0;
    char *json = response ? pbjson_encode(response, &json_len) : NULL;
    if (json == NULL) {
        log_error(call->request_id, "ответ %s не разбирается как %s", call->route->rpc,
                  route_method(call->route)->output->name);
        if (response)
            protobuf_c_message_free_unpacked(response, NULL);
        s_finish_error(call, 500, "internal", "Служба вернула некорректный ответ", NULL, 0);
        s_call_unref(call);
        return;
    }
    char etag[40] = "", location[512] = "";
    const ProtobufCFieldDescriptor *vf = pbjson_find_field(route_method(call->route)->output, "version");
    if (vf != NULL && vf->type == PROTOBUF_C_TYPE_INT64 && vf->label != PROTOBUF_C_LABEL_REPEATED)
        snprintf(etag, sizeof etag, "\"%lld\"", (long long)pbfield_int64(response, "version"));
    if (call->route->flags & ROUTE_CREATE) {
        const char *id = pbfield_string(response, "id");
        if (id != NULL && id[0] != '\0')
            snprintf(location, sizeof location, "%s/%s", call->path, id);
    }
    protobuf_c_message_free_unpacked(response, NULL);
    int status = route_success_status(call->route);
    s_idempotency_finish(call, status, json, json_len, etag, location);
    if (call->req != NULL && !call->responded) {
        call->responded = true;
        s_extra extra = {etag, location, NULL, false, 0, NULL};
        s_send(http, call->req, call->label, call->request_id, call->started_ns, status, S_JSON, json, json_len,
               &extra);
    }
    free(json);
    s_call_unref(call);
}

static void s_submit(s_call *call)
{
    gateway_http *http = call->http;
    if (http->broker == NULL) {
        s_finish_error(call, 503, "unavailable", S_UNAVAILABLE_MESSAGE, NULL, 0);
        return;
    }
    call->pending = mdp_broker_request(http->broker, call->route->service, call->envelope, call->envelope_len,
                                       call->timeout_ms, s_on_reply, call);
    if (call->pending == NULL) {
        s_finish_error(call, 500, "internal", "Внутренняя ошибка шлюза", NULL, 0);
        return;
    }
    call->refs++;
    call->guard_ns = uv_hrtime() + (uint64_t)(call->timeout_ms + S_GUARD_MS) * 1000000u;
    call->next = http->calls;
    if (http->calls)
        http->calls->prev = call;
    http->calls = call;
}

static void s_on_idempotency(idempotency_outcome outcome, const idempotency_reply *stored, void *ud)
{
    s_call *call = ud;
    if (call->req == NULL) {
        /* the client left before the key was checked: free the key we may have taken */
        if (outcome == IDEMPOTENCY_PROCEED)
            s_idempotency_finish(call, 0, NULL, 0, NULL, NULL);
        s_call_unref(call);
        return;
    }
    switch (outcome) {
    case IDEMPOTENCY_PROCEED:
        s_submit(call);
        break;
    case IDEMPOTENCY_REPLAY:
        if (!call->responded) {
            call->responded = true;
            s_extra extra = {stored->etag, stored->location, NULL, true, 0, NULL};
            s_send(call->http, call->req, call->label, call->request_id, call->started_ns, stored->status, S_JSON,
                   stored->body, stored->body_len, &extra);
        }
        break;
    case IDEMPOTENCY_IN_PROGRESS:
        s_call_error(call, 409, "conflict", "Запрос с этим ключом идемпотентности ещё выполняется", NULL, 0);
        break;
    case IDEMPOTENCY_MISMATCH:
        s_call_error(call, 422, "unprocessable", "Ключ идемпотентности уже использован с другим запросом", NULL, 0);
        break;
    case IDEMPOTENCY_UNAVAILABLE:
    default:
        s_call_error(call, 503, "unavailable", S_UNAVAILABLE_MESSAGE, NULL, 0);
        break;
    }
    s_call_unref(call);
}

/* The HTTP-side deadline guard. */
static void s_on_tick(uv_timer_t *timer)
{
    gateway_http *http = timer->data;
    uint64_t now = uv_hrtime();
    s_call *call = http->calls;
    while (call != NULL) {
        s_call *next = call->next;
        if (now >= call->guard_ns) {
            mdp_broker_cancel(call->pending);
            call->pending = NULL;
            s_call_unlink(call);
            log_warn(call->request_id, "брокер не ответил за %u мс + %d мс; запрос отменён", call->timeout_ms,
                     S_GUARD_MS);
            s_finish_error(call, 504, "deadline_exceeded", "Служба не ответила вовремя", NULL, 0);
            s_call_unref(call);
        }
        call = next;
    }
}

/* ---- API requests ---- */

static bool s_is_content_type(const h2o_iovec_t *ct, const char *want)
{
    size_t n = strlen(want);
    if (ct == NULL || ct->len < n || !h2o_lcstris(ct->base, n, want, n))
        return false;
    return ct->len == n || ct->base[n] == ';' || ct->base[n] == ' ' || ct->base[n] == '\t';
}

static bool s_is_json_content_type(const h2o_iovec_t *ct)
{
    return s_is_content_type(ct, "application/json");
}

static void s_client_address(h2o_req_t *req, char *out, size_t size)
{
    struct sockaddr_storage ss;
    char host[1025];
    out[0] = '\0';
    if (req->conn == NULL || req->conn->callbacks == NULL || req->conn->callbacks->get_peername == NULL)
        return;
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    if (len == 0)
        return;
    size_t n = h2o_socket_getnumerichost((struct sockaddr *)&ss, len, host);
    if (n != SIZE_MAX)
        snprintf(out, size, "%.*s", (int)n, host);
}

/* Packs the Envelope around msg into call->envelope. */
static int s_build_envelope(s_call *call, const Metodnet__Principal *principal, const ProtobufCMessage *msg,
                            const char *idem_key, size_t idem_len)
{
    request_envelope request = {
        .method = call->route->rpc,
        .message = msg,
        .caller = principal,
        .request_id = call->request_id,
        .client_address = call->client_address,
        .idempotency_key = idem_key,
        .idempotency_key_end = idem_key ? idem_key + idem_len : NULL,
        .timeout_ms = call->timeout_ms,
    };
    call->envelope = request_envelope_pack(&request, &call->envelope_len);
    return call->envelope ? 0 : -1;
}

static size_t s_header_bytes(const h2o_req_t *req)
{
    size_t total = req->input.path.len;
    for (size_t i = 0; i < req->headers.size; i++)
        total += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    return total;
}

/* The caller is known: build the envelope, then (with an Idempotency-Key) check the key, or submit. */
static void s_continue(s_call *call, const Metodnet__Principal *principal)
{
    gateway_http *http = call->http;
    if (call->route->flags & ROUTE_TOKEN) {
        if (call->token == NULL) {
            s_call_error(call, 401, "unauthenticated", "Требуется вход в систему", NULL, 0);
            return;
        }
        pbfield_set_string(call->msg, "token", call->token);
    }
    int rc =
        s_build_envelope(call, principal, call->msg, call->idem_value, call->idem_value ? strlen(call->idem_value) : 0);
    char *idempotency_key = NULL;
    if (rc == 0 && call->idem_value != NULL)
        idempotency_key = idempotency_redis_key(principal->user_id, call->idem_value, strlen(call->idem_value));
    /* Logout: the cached session is forgotten only now, since principal may be that very cache entry's
     * (forgetting it first freed the principal the envelope was built from); principal is not used
     * after this. */
    if ((call->route->flags & ROUTE_TOKEN) && http->auth)
        gateway_auth_forget(http->auth, call->token, strlen(call->token));
    protobuf_c_message_free_unpacked(call->msg, NULL);
    call->msg = NULL;
    if (rc != 0) {
        free(idempotency_key);
        s_call_error(call, 500, "internal", "Недостаточно памяти", NULL, 0);
        return;
    }
    if (call->idem_value == NULL) {
        s_submit(call);
        return;
    }
    if (http->idempotency == NULL) {
        free(idempotency_key);
        s_call_error(call, 503, "unavailable", S_UNAVAILABLE_MESSAGE, NULL, 0);
        return;
    }
    call->idempotency_key = idempotency_key;
    call->refs++;
    if (call->idempotency_key == NULL ||
        idempotency_begin(http->idempotency, call->idempotency_key, call->fingerprint, s_on_idempotency, call) != 0) {
        call->refs--;
        free(call->idempotency_key);
        call->idempotency_key = NULL;
        s_call_error(call, 503, "unavailable", S_UNAVAILABLE_MESSAGE, NULL, 0);
    }
}

static void s_on_authenticated(gateway_auth_result result, const Metodnet__Principal *principal,
                               uint32_t retry_after_seconds, void *ud)
{
    s_call *call = ud;
    call->auth_wait = NULL;
    if (call->req == NULL) {
        s_call_unref(call);
        return;
    }
    switch (result) {
    case GATEWAY_AUTH_OK:
        s_continue(call, principal);
        break;
    case GATEWAY_AUTH_MISSING:
        s_call_error(call, 401, "unauthenticated",
                     "Требуется вход в систему: передайте токен в заголовке Authorization: Bearer <токен>", NULL, 0);
        break;
    case GATEWAY_AUTH_INVALID:
        s_call_error(call, 401, "unauthenticated", "Сеанс истёк или ключ недействителен: войдите в систему заново",
                     NULL, 0);
        break;
    case GATEWAY_AUTH_RATE_LIMITED:
        call->retry_after = (int)retry_after_seconds;
        s_call_error(call, 429, "too_many_requests", "Слишком много запросов, повторите позже", NULL, 0);
        break;
    default:
        s_call_error(call, 503, "unavailable", S_UNAVAILABLE_MESSAGE, NULL, 0);
        break;
    }
    s_call_unref(call);
}

static void s_handle_api(gateway_http *http, h2o_req_t *req, const route_match *m, const char *request_id,
                         uint64_t started_ns, const char *path, size_t path_len, const char *query, size_t query_len)
{
    const route *r = m->route;
    char label[112];
    snprintf(label, sizeof label, "%s %s", r->method, r->path_template);
    const char *body = req->entity.base;
    size_t body_len = req->entity.base ? req->entity.len : 0;
    if (r->flags & (ROUTE_BODY | ROUTE_CSV_IN)) {
        size_t limit = r->max_body_bytes ? r->max_body_bytes : http->options.max_body_bytes;
        if (body_len > limit) {
            char text[160];
            snprintf(text, sizeof text, "Тело запроса больше допустимого (%zu байт)", limit);
            s_send_error(http, req, label, request_id, started_ns, 413, NULL, text, NULL, 0, NULL);
            return;
        }
        if ((r->flags & ROUTE_CSV_IN) && body_len > 0 &&
            !s_is_content_type(s_header(req, H2O_TOKEN_CONTENT_TYPE), "text/csv")) {
            api_error_detail d = {"Content-Type", "Ожидается text/csv"};
            s_send_error(http, req, label, request_id, started_ns, 415, NULL,
                         "Тело запроса должно быть файлом CSV (Content-Type: text/csv)", &d, 1, NULL);
            return;
        }
        if ((r->flags & ROUTE_BODY) && body_len > 0 && !s_is_json_content_type(s_header(req, H2O_TOKEN_CONTENT_TYPE))) {
            api_error_detail d = {"Content-Type", "Ожидается application/json"};
            s_send_error(http, req, label, request_id, started_ns, 415, NULL,
                         "Тело запроса должно быть в формате JSON (Content-Type: application/json)", &d, 1, NULL);
            return;
        }
    }
    const h2o_iovec_t *if_match = s_header(req, H2O_TOKEN_IF_MATCH);
    routes_error err;
    ProtobufCMessage *msg = routes_build_request(m, query, query_len, body, body_len, if_match ? if_match->base : NULL,
                                                 if_match ? if_match->len : 0, &err);
    if (msg == NULL) {
        api_error_detail d = {err.field, err.description};
        s_send_error(http, req, label, request_id, started_ns, 400, "invalid_argument", err.description, &d, 1, NULL);
        return;
    }
    ssize_t ik = h2o_find_header_by_str(&req->headers, H2O_STRLIT("idempotency-key"), -1);
    const h2o_iovec_t *idem = (ik != -1 && strcmp(r->method, "POST") == 0) ? &req->headers.entries[ik].value : NULL;
    if (idem != NULL && !idempotency_key_valid(idem->base, idem->len)) {
        protobuf_c_message_free_unpacked(msg, NULL);
        api_error_detail d = {"Idempotency-Key", "От 1 до 128 печатных символов ASCII"};
        s_send_error(http, req, label, request_id, started_ns, 400, "invalid_argument",
                     "Некорректный ключ идемпотентности", &d, 1, NULL);
        return;
    }
    s_call *call = s_call_new(http, req, label, request_id, started_ns);
    if (call == NULL) {
        protobuf_c_message_free_unpacked(msg, NULL);
        s_send_error(http, req, label, request_id, started_ns, 500, "internal", "Недостаточно памяти", NULL, 0, NULL);
        return;
    }
    call->route = r;
    call->timeout_ms = r->timeout_ms ? r->timeout_ms : http->options.request_timeout_ms;
    call->path = malloc(path_len + 1);
    if (call->path != NULL) {
        memcpy(call->path, path, path_len);
        while (path_len > 1 && call->path[path_len - 1] == '/')
            path_len--;
        call->path[path_len] = '\0';
    }
    call->msg = msg;
    s_client_address(req, call->client_address, sizeof call->client_address);
    if (call->path == NULL) {
        s_call_error(call, 500, "internal", "Недостаточно памяти", NULL, 0);
        return;
    }
    if (idem != NULL && !(r->flags & ROUTE_SECRET)) {
        call->idem_value = strndup(idem->base, idem->len);
        idempotency_fingerprint(req->method.base, req->method.len, req->input.path.base, req->input.path.len, body,
                                body_len, call->fingerprint);
    }
    const h2o_iovec_t *authorization = s_header(req, H2O_TOKEN_AUTHORIZATION);
    if (r->flags & ROUTE_TOKEN) {
        const char *token;
        size_t token_len;
        if (authorization && gateway_auth_bearer(authorization->base, authorization->len, &token, &token_len) == 0)
            call->token = strndup(token, token_len);
    }
    if (r->flags & ROUTE_PUBLIC) {
        s_continue(call, gateway_auth_gateway_principal());
        return;
    }
    if (http->auth == NULL) {
        s_call_error(call, 503, "unavailable", S_UNAVAILABLE_MESSAGE, NULL, 0);
        return;
    }
    call->auth_wait = gateway_auth_check(http->auth, authorization ? authorization->base : NULL,
                                         authorization ? authorization->len : 0, request_id, s_on_authenticated, call);
    if (call->auth_wait == NULL) {
        s_call_error(call, 500, "internal", "Недостаточно памяти", NULL, 0);
        return;
    }
    call->refs++; /* the callback's, always later */
}

/* ---- service endpoints ---- */

static void s_on_ping(const redisReply *reply, const char *error, void *ud)
{
    (void)error;
    s_call *call = ud;
    gateway_http *http = call->http;
    if (call->req != NULL && !call->responded) {
        api_error_detail details[16];
        char descriptions[16][160], names[16][MDP_SERVICE_NAME_MAX + 1];
        size_t n = 0;
        bool redis_ok =
            reply != NULL && reply->type == REDIS_REPLY_STATUS && reply->str != NULL && strcmp(reply->str, "PONG") == 0;
        if (!redis_ok) {
            const char *not_ready = http->redis ? redis_link_not_ready(http->redis) : NULL;
            details[n].field = "redis";
            details[n].description = not_ready == NULL                       ? "Redis не отвечает на PING"
                                     : strncmp(not_ready, "LOADING", 7) == 0 ? "Redis загружает данные в память"
                                     : strncmp(not_ready, "BUSY", 4) == 0 ? "Redis занят выполнением скрипта"
                                                                          : "Redis-реплика потеряла связь с ведущим";
            n++;
        }
        const char *p = http->required_services;
        while (p != NULL && *p != '\0' && n < 16) {
            size_t len = strcspn(p, ",");
            if (len > 0 && len <= MDP_SERVICE_NAME_MAX) {
                snprintf(names[n], sizeof names[n], "%.*s", (int)len, p);
                if (http->broker == NULL || mdp_broker_worker_count(http->broker, names[n]) == 0) {
                    snprintf(descriptions[n], sizeof descriptions[n], "Нет ни одного исполнителя службы «%s»",
                             names[n]);
                    details[n].field = names[n];
                    details[n].description = descriptions[n];
                    n++;
                }
            }
            p += len;
            if (*p == ',')
                p++;
        }
        call->responded = true;
        if (n == 0) {
            static const char ok[] = "{\"status\":\"ready\"}";
            s_send(http, call->req, call->label, call->request_id, call->started_ns, 200, S_JSON, ok, sizeof ok - 1,
                   NULL);
        } else {
            s_send_error(http, call->req, call->label, call->request_id, call->started_ns, 503, "unavailable",
                         "Шлюз не готов принимать запросы", details, n, NULL);
        }
    }
    s_call_unref(call);
}

static void s_handle_readyz(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id,
                            uint64_t started_ns)
{
    s_call *call = s_call_new(http, req, label, request_id, started_ns);
    if (call == NULL) {
        s_send_error(http, req, label, request_id, started_ns, 500, "internal", "Недостаточно памяти", NULL, 0, NULL);
        return;
    }
    call->refs++;
    /* Not connected or Redis still loading: answer now rather than after the PING's deadline. */
    if (http->redis == NULL || !redis_link_connected(http->redis) ||
        redis_link_commandf(http->redis, s_on_ping, call, "PING") != 0) {
        /* answer as if Redis said nothing */
        s_on_ping(NULL, "closed", call);
    }
}

static void s_write_broker_metrics(const char *service, size_t workers, size_t busy, size_t queued, void *ud)
{
    FILE *out = ud;
    fprintf(out, "metodnet_broker_workers{service=\"%s\"} %zu\n", service, workers);
    fprintf(out, "metodnet_broker_busy_workers{service=\"%s\"} %zu\n", service, busy);
    fprintf(out, "metodnet_broker_queue_depth{service=\"%s\"} %zu\n", service, queued);
}

static void s_handle_metrics(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id,
                             uint64_t started_ns)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (out == NULL) {
        s_send_error(http, req, label, request_id, started_ns, 500, "internal", "Недостаточно памяти", NULL, 0, NULL);
        return;
    }
    gateway_metrics_write(http->metrics, out);
    fputs("# HELP metodnet_broker_workers Live workers per service.\n# TYPE metodnet_broker_workers gauge\n"
          "# HELP metodnet_broker_busy_workers Workers holding a request.\n"
          "# TYPE metodnet_broker_busy_workers gauge\n"
          "# HELP metodnet_broker_queue_depth Requests waiting for a worker.\n"
          "# TYPE metodnet_broker_queue_depth gauge\n",
          out);
    if (http->broker != NULL)
        mdp_broker_foreach_service(http->broker, s_write_broker_metrics, out);
    fprintf(out,
            "# HELP metodnet_broker_dropped_frames_total Malformed MDP frames dropped.\n"
            "# TYPE metodnet_broker_dropped_frames_total counter\n"
            "metodnet_broker_dropped_frames_total %llu\n",
            http->broker ? (unsigned long long)mdp_broker_dropped_frames(http->broker) : 0ULL);
    fclose(out);
    s_send(http, req, label, request_id, started_ns, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, NULL);
    free(text);
}

static bool s_method_is(const h2o_req_t *req, const char *method)
{
    return req->method.len == strlen(method) && memcmp(req->method.base, method, req->method.len) == 0;
}

/* /healthz, /readyz, /metrics, /api/v1/openapi.json; false when path is none of them. */
static bool s_handle_service_path(gateway_http *http, h2o_req_t *req, const char *path, size_t path_len,
                                  const char *request_id, uint64_t started_ns)
{
    static const char *const paths[] = {"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"};
    size_t which;
    for (which = 0; which < 4; which++)
        if (strlen(paths[which]) == path_len && memcmp(paths[which], path, path_len) == 0)
            break;
    if (which == 4)
        return false;
    char label[64];
    snprintf(label, sizeof label, "GET %s", paths[which]);
    if (!s_method_is(req, "GET") && !s_method_is(req, "HEAD")) {
        s_extra extra = {NULL, NULL, "GET, HEAD", false, 0, NULL};
        s_send_error(http, req, label, request_id, started_ns, 405, NULL, "Метод не поддерживается для этого пути",
                     NULL, 0, &extra);
        return true;
    }
    switch (which) {
    case 0: {
        static const char ok[] = "{\"status\":\"ok\"}";
        s_send(http, req, label, request_id, started_ns, 200, S_JSON, ok, sizeof ok - 1, NULL);
        break;
    }
    case 1:
        s_handle_readyz(http, req, label, request_id, started_ns);
        break;
    case 2:
        s_handle_metrics(http, req, label, request_id, started_ns);
        break;
    default:
        if (http->openapi == NULL)
            s_send_error(http, req, label, request_id, started_ns, 500, "internal", "Документ OpenAPI недоступен", NULL,
                         0, NULL);
        else
            s_send(http, req, label, request_id, started_ns, 200, S_JSON, http->openapi, http->openapi_len, NULL);
        break;
    }
    return true;
}

static int s_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    gateway_http *http = ((s_handler *)self)->http;
    uint64_t started_ns = uv_hrtime();
    char request_id[72];
    s_request_id(req, request_id);
    const char *path = req->input.path.base;
    size_t path_len = req->input.path.len, query_len = 0;
    const char *query = NULL;
    if (req->input.query_at != SIZE_MAX && req->input.query_at < path_len) {
        query = path + req->input.query_at + 1;
        query_len = path_len - req->input.query_at - 1;
        path_len = req->input.query_at;
    }
    if (s_header_bytes(req) > http->options.max_header_bytes) {
        char text[160];
        snprintf(text, sizeof text, "Заголовки запроса больше допустимого (%zu байт)", http->options.max_header_bytes);
        s_send_error(http, req, "other", request_id, started_ns, 431, NULL, text, NULL, 0, NULL);
        return 0;
    }
    if (http->stopping) {
        req->http1_is_persistent = 0;
        s_send_error(http, req, "other", request_id, started_ns, 503, "unavailable",
                     "Шлюз останавливается, повторите запрос позже", NULL, 0, NULL);
        return 0;
    }
    if (s_handle_service_path(http, req, path, path_len, request_id, started_ns))
        return 0;
    route_match m;
    switch (routes_match(req->method.base, req->method.len, path, path_len, &m)) {
    case ROUTES_FOUND:
        s_handle_api(http, req, &m, request_id, started_ns, path, path_len, query, query_len);
        break;
    case ROUTES_METHOD_NOT_ALLOWED: {
        s_extra extra = {NULL, NULL, m.allow, false, 0, NULL};
        s_send_error(http, req, "other", request_id, started_ns, 405, NULL, "Метод не поддерживается для этого пути",
                     NULL, 0, &extra);
        break;
    }
    default:
        s_send_error(http, req, "other", request_id, started_ns, 404, "not_found", "Путь не найден", NULL, 0, NULL);
        break;
    }
    return 0;
}

/* ---- listener and lifetime ---- */

static void s_on_connection_closed(uv_handle_t *handle)
{
    s_connection *conn = (s_connection *)handle;
    conn->http->connections--;
    free(conn);
}

static void s_on_accept(uv_stream_t *listener, int status)
{
    gateway_http *http = listener->data;
    if (status != 0)
        return;
    s_connection *conn = calloc(1, sizeof *conn);
    if (conn == NULL)
        return;
    conn->http = http;
    uv_tcp_init(listener->loop, &conn->tcp);
    http->connections++;
    if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
        uv_close((uv_handle_t *)&conn->tcp, s_on_connection_closed);
        return;
    }
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&conn->tcp, s_on_connection_closed);
    h2o_accept(&http->accept_ctx, sock);
}

void gateway_http_options_default(gateway_http_options *options)
{
    memset(options, 0, sizeof *options);
    options->host = "127.0.0.1";
    options->port = 8080;
    options->max_body_bytes = 1024 * 1024;
    options->max_header_bytes = 16 * 1024;
    options->request_timeout_ms = 5000;
    options->required_services = "registry";
    options->rate_limit = 50;
}

static void s_free_handle(uv_handle_t *handle)
{
    free(handle);
}

gateway_http *gateway_http_new(uv_loop_t *loop, const gateway_http_options *options, mdp_broker *broker,
                               redis_link *redis)
{
    if (sodium_init() < 0)
        return NULL;
    size_t n_routes;
    const route *table = routes_table(&n_routes);
    char problem[512];
    if (routes_check(table, n_routes, problem, sizeof problem) != NULL) {
        log_error(NULL, "таблица маршрутов не сходится с proto-описаниями служб: %s", problem);
        return NULL;
    }
    gateway_http *http = calloc(1, sizeof *http);
    if (http == NULL)
        return NULL;
    http->loop = loop;
    http->options = *options;
    if (http->options.max_body_bytes == 0)
        http->options.max_body_bytes = 1024 * 1024;
    if (http->options.max_header_bytes == 0)
        http->options.max_header_bytes = 16 * 1024;
    if (http->options.request_timeout_ms == 0)
        http->options.request_timeout_ms = 5000;
    http->required_services = strdup(options->required_services ? options->required_services : "registry");
    http->broker = broker;
    http->redis = redis;
    http->metrics = gateway_metrics_new();
    http->openapi = gateway_openapi_text(&http->openapi_len);
    if (redis != NULL)
        http->idempotency = gateway_idempotency_new(redis, http->options.request_timeout_ms);
    if (broker != NULL) {
        gateway_auth_options auth_options;
        gateway_auth_options_default(&auth_options);
        auth_options.requests_per_second = http->options.rate_limit;
        auth_options.burst = http->options.rate_limit * 4;
        http->auth = gateway_auth_new(loop, broker, &auth_options);
    }

    h2o_config_init(&http->config);
    /* h2o refuses bodies above this itself (plain-text 413); up to it, the handler answers a JSON 413 for
     * anything above max_body_bytes — so typical oversize bodies get the API's error shape. */
    http->config.max_request_entity_size =
        S_H2O_BODY_LIMIT > http->options.max_body_bytes * 2 ? S_H2O_BODY_LIMIT : http->options.max_body_bytes * 2;
    /* routes that take files (import) raise it for themselves; the handler keeps every other route at
     * its own limit (h2o's limit is per host, not per path) */
    if (routes_max_body_bytes() + 64 * 1024 > http->config.max_request_entity_size)
        http->config.max_request_entity_size = routes_max_body_bytes() + 64 * 1024;
    h2o_hostconf_t *host = h2o_config_register_host(&http->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(host, "/", 0);
    s_handler *handler = (s_handler *)h2o_create_handler(pathconf, sizeof *handler);
    handler->super.on_req = s_on_req;
    handler->http = http;
    h2o_context_init(&http->ctx, loop, &http->config);
    http->accept_ctx.ctx = &http->ctx;
    http->accept_ctx.hosts = http->config.hosts;

    http->tick = calloc(1, sizeof *http->tick);
    http->listener = calloc(1, sizeof *http->listener);
    if (http->required_services == NULL || http->metrics == NULL || http->tick == NULL || http->listener == NULL ||
        (redis != NULL && http->idempotency == NULL) || (broker != NULL && http->auth == NULL))
        goto fail;
    uv_timer_init(loop, http->tick);
    http->tick->data = http;
    uv_timer_start(http->tick, s_on_tick, S_TICK_MS, S_TICK_MS);

    struct sockaddr_storage addr;
    const char *h = options->host && strcmp(options->host, "localhost") != 0 ? options->host : "127.0.0.1";
    int rc = uv_ip4_addr(h, options->port, (struct sockaddr_in *)&addr);
    if (rc != 0)
        rc = uv_ip6_addr(h, options->port, (struct sockaddr_in6 *)&addr);
    uv_tcp_init(loop, http->listener);
    http->listener->data = http;
    if (rc == 0)
        rc = uv_tcp_bind(http->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)http->listener, 512, s_on_accept);
    if (rc != 0) {
        log_error(NULL, "не удалось открыть HTTP-порт %s:%d: %s", h, options->port, uv_strerror(rc));
        goto fail;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    if (uv_tcp_getsockname(http->listener, (struct sockaddr *)&bound, &blen) == 0)
        http->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                       : ((struct sockaddr_in *)&bound)->sin_port);
    return http;
fail:
    gateway_http_destroy(&http);
    return NULL;
}

int gateway_http_port(const gateway_http *http)
{
    return http->port;
}

size_t gateway_http_connections(const gateway_http *http)
{
    return http->connections;
}

void gateway_http_stop(gateway_http *http)
{
    if (http->stopping)
        return;
    http->stopping = true;
    if (http->listener != NULL) {
        if (http->listener->loop != NULL)
            uv_close((uv_handle_t *)http->listener, s_free_handle);
        else
            free(http->listener); /* never initialised (failed start) */
        http->listener = NULL;
    }
    h2o_context_request_shutdown(&http->ctx);
    http->broker = NULL;
    http->redis = NULL;
    gateway_idempotency_destroy(&http->idempotency);
}

void gateway_http_destroy(gateway_http **httpp)
{
    if (httpp == NULL || *httpp == NULL)
        return;
    gateway_http *http = *httpp;
    *httpp = NULL;
    gateway_http_stop(http);
    if (http->tick != NULL) {
        if (http->tick->loop != NULL) /* initialised */
            uv_close((uv_handle_t *)http->tick, s_free_handle);
        else
            free(http->tick);
    }
    gateway_auth_destroy(&http->auth); /* waits on the service were failed by mdp_broker_destroy, ready ones now */
    /* broker requests still on the list were failed by mdp_broker_destroy before we get here; any left
     * (none in a correct shutdown) are abandoned with their calls. */
    if (http->connections == 0) {
        /* h2o_context_request_shutdown() armed the HTTP/2 graceful-shutdown timer; with no connection
         * left it has nothing to do, and h2o_context_dispose() asserts that every timeout is empty. */
        if (h2o_timeout_is_linked(&http->ctx.http2._graceful_shutdown_timeout))
            h2o_timeout_unlink(&http->ctx.http2._graceful_shutdown_timeout);
        h2o_context_dispose(&http->ctx);
        h2o_config_dispose(&http->config);
        gateway_metrics_destroy(&http->metrics);
        free(http->openapi);
        free(http->required_services);
        free(http);
    }
    /* else: h2o still owns connections that reference ctx/config; they end with the process. */
}
