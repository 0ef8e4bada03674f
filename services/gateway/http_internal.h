/* http_internal — what the parts of the gateway's HTTP handling share (not a public API: that is
 * http.h). The parts: http.c (the listener, dispatch, the service endpoints, lifetime), http_reply.c
 * (sending responses and turning a service's Reply into one), http_call.c (the calls to the services:
 * their lifetime, idempotency, the deadline guard, decoding and authenticating API requests).
 */
#ifndef METODNET_GATEWAY_HTTP_INTERNAL_H
#define METODNET_GATEWAY_HTTP_INTERNAL_H

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
#include "sse.h"
#include "static.h"

#define HTTP_JSON                "application/json; charset=utf-8"
#define HTTP_UNAVAILABLE_MESSAGE "Служба временно недоступна, повторите запрос позже"
#define HTTP_GUARD_MS            1000
/* Retry-After of a 503 for a full service queue in the broker (METODNET_BROKER_QUEUE_MAX) */
#define HTTP_OVERLOAD_RETRY_AFTER_S 1
/* h2o answers bodies above its own limit itself, in plain text; below it the handler answers the
 * API's JSON 413. 40 MiB leaves room for CSV imports, whose routes take larger bodies. */
#define HTTP_H2O_BODY_LIMIT (40u * 1024 * 1024)
#define HTTP_TICK_MS        250

typedef struct http_call http_call;

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
    gateway_static *web; /* the web console at / (static.c) */
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    uv_tcp_t *listener; /* NULL once closed */
    uv_timer_t *tick;   /* NULL once closed */
    int port;
    size_t connections;
    bool stopping;
    http_call *calls; /* waiting for the broker */
    gateway_sse *sse; /* the open notification streams (sse.c) */
};

/* One API request on its way to a service and back (see the invariants in http.c). */
struct http_call {
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
    http_call *prev, *next;
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
    /* the browser session (auth.h): authenticated by the cookie; the Set-Cookie of the answer */
    bool by_cookie;
    bool session_start; /* a public route (login) asked for the cookie with X-Metodnet-CSRF */
    char *set_cookie;
};

/* What a response carries besides status, type and body. */
typedef struct {
    const char *etag;
    const char *location;
    const char *allow;
    bool replayed;
    int retry_after;                 /* seconds, 0 = no Retry-After */
    const char *content_disposition; /* CSV downloads */
    const char *set_cookie;          /* the browser session's cookie (auth.h) */
} http_extra;

/* ---------- http_reply.c: responses ---------- */

/* Borrowed header value or NULL. */
const h2o_iovec_t *gateway_http_header(h2o_req_t *req, const h2o_token_t *token);

/* Turns the service's Reply into the HTTP response. */
void gateway_http_on_reply(int result, const uint8_t *body, size_t len, void *ud);
/* 503 + Retry-After: the route's service has a full queue in the broker (MDP_ERR_OVERLOADED). */
void gateway_http_finish_overloaded(http_call *call);

/* The request's X-Request-Id when sane, else a new random one, into out. */
void gateway_http_request_id(h2o_req_t *req, char out[72]);

/* Sends one complete response (body copied into the request pool) and counts it. */
void gateway_http_send(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id,
                       uint64_t started_ns, int status, const char *content_type, const char *body, size_t len,
                       const http_extra *extra);

/* Sends the API's JSON error (api_error_json) through gateway_http_send. */
void gateway_http_send_error(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id,
                             uint64_t started_ns, int status, const char *code, const char *message,
                             const api_error_detail *details, size_t n_details, const http_extra *extra);

/* ---------- health.c: /metrics and /healthz/processes ---------- */

/* GET /metrics: the gateway's counters, the broker's per-service figures, each process's report. */
void gateway_health_metrics(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id,
                            uint64_t started_ns);
/* GET /healthz/processes: every process's health report (200 when all are well, else 503). */
void gateway_health_processes(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id,
                              uint64_t started_ns);

/* ---------- http_call.c: calls to the services ---------- */

/* A call for req with the request pool's reference (dropped when h2o disposes the request); NULL when out of memory. */
http_call *gateway_http_call_new(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id,
                                 uint64_t started_ns);

/* Takes call off http->calls (the calls waiting for the broker). */
void gateway_http_call_unlink(http_call *call);

/* Drops one reference; the last one frees the call. */
void gateway_http_call_unref(http_call *call);

/* Ends the idempotency record with the error (when the request has a key) and answers the error. */
void gateway_http_finish_error(http_call *call, int status, const char *code, const char *message,
                               const api_error_detail *details, size_t n);

/* Handles a request matched to an API route: body limits and type, decoding, authentication, then the call to the service. */
void gateway_http_handle_api(gateway_http *http, h2o_req_t *req, const route_match *m, const char *request_id,
                             uint64_t started_ns, const char *path, size_t path_len, const char *query,
                             size_t query_len);

/* Bytes of the request's path and headers (each header counted with 4 more), compared with max_header_bytes. */
size_t gateway_http_header_bytes(const h2o_req_t *req);

/* Ends the idempotency record of call with the outcome (stored or deleted). */
void gateway_http_idempotency_finish(http_call *call, int status, const char *body, size_t len, const char *etag,
                                     const char *location);

/* Login of a browser (X-Metodnet-CSRF): the response's token goes into call->set_cookie and is blanked
 * in the response (auth.h). */
void gateway_http_session_cookie(http_call *call, ProtobufCMessage *response);

/* The HTTP-side deadline guard. */
void gateway_http_on_tick(uv_timer_t *timer);

#endif
