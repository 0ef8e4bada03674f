/* http — the gateway's HTTP/JSON front (h2o 2.2.5 on the process's libuv loop).
 *
 * Every API request: request id (X-Request-Id when sane, else random; always echoed) → route →
 * body checks (413, 415) → protobuf request (400 with the field's path) → Idempotency-Key (POST) →
 * metodnet.Envelope → mdp_broker_request() → metodnet.Reply → JSON, with ETag, Location, status
 * mapping (api_error.h). Plus GET /healthz, /readyz, /metrics and /api/v1/openapi.json.
 *
 * Lifetime: the state of a request in flight lives in a heap object referenced from the h2o request
 * pool (h2o_mem_alloc_shared with a dispose hook). When the client goes away the hook cancels the
 * broker request (mdp_broker_cancel) — or, when an Idempotency-Key is involved, lets it finish so the
 * outcome is stored for the retry — and no callback touches the freed h2o request.
 */
#ifndef METODNET_GATEWAY_HTTP_H
#define METODNET_GATEWAY_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "mdp_broker.h"
#include "redis_link.h"

typedef struct {
    const char *host;              /* numeric IPv4/IPv6 address or "localhost" */
    int port;                      /* 0 = any free port (see gateway_http_port) */
    size_t max_body_bytes;         /* default 1 MiB */
    size_t max_header_bytes;       /* all request header names + values; default 16 KiB → 431 */
    uint32_t request_timeout_ms;   /* default 5000 */
    const char *required_services; /* comma-separated, for /readyz; default "registry" */
    double rate_limit;             /* requests per second per token; 0 = no limit; default 50 */
    const char *web_dir;           /* the web console's built files (web/dist); NULL = none (static.h) */
} gateway_http_options;

void gateway_http_options_default(gateway_http_options *options);

typedef struct gateway_http gateway_http;

/* Binds and listens. broker and redis are borrowed (either may be NULL: requests needing it get
 * 503) until gateway_http_detach(). Returns NULL (and logs why) when the address cannot be bound. */
gateway_http *gateway_http_new(uv_loop_t *loop, const gateway_http_options *options, mdp_broker *broker,
                               redis_link *redis);

/* The bound port (useful with port 0). */
int gateway_http_port(const gateway_http *http);

/* Shutdown, step 1: stop accepting, ask h2o to end keep-alive/HTTP/2 connections, and forget the
 * broker and Redis link (the caller destroys them next; their failing callbacks answer 503). */
void gateway_http_stop(gateway_http *http);

/* Open client connections. */
size_t gateway_http_connections(const gateway_http *http);

/* Shutdown, step 2: frees everything once gateway_http_connections() is 0; with connections still
 * open it only closes the gateway's own handles and leaves h2o's context to process exit.
 * *http = NULL. The loop must run once more to finish closing handles. */
void gateway_http_destroy(gateway_http **http);

#endif
