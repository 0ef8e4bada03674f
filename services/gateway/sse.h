/* sse — GET /api/v1/notifications/stream: the notification feed as Server-Sent Events
 * (text/event-stream). See sse.c for how a stream follows the feed. */
#ifndef METODNET_GATEWAY_SSE_H
#define METODNET_GATEWAY_SSE_H

#include <h2o.h>

#include "routes.h"

typedef struct gateway_http gateway_http;
typedef struct gateway_sse gateway_sse;

/* The streams of one gateway; NULL when out of memory. Keep-alive period: METODNET_SSE_KEEPALIVE_MS
 * (15000), feed poll period: METODNET_SSE_POLL_MS (500). */
gateway_sse *gateway_sse_new(gateway_http *http);
/* Answers a request matched to a ROUTE_SSE row: authenticates, then streams. */
void gateway_sse_handle(gateway_sse *sse, h2o_req_t *req, const route_match *m, const char *request_id,
                        uint64_t started_ns, const char *query, size_t query_len);
/* Open streams. */
size_t gateway_sse_count(const gateway_sse *sse);
/* Ends every stream (the clients reconnect with Last-Event-ID) and stops asking the services. */
void gateway_sse_stop(gateway_sse *sse);
void gateway_sse_destroy(gateway_sse **sse);

#endif
