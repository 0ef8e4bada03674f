/* metrics — HTTP request counters and latency histograms per route, in Prometheus text format:
 *   metodnet_http_requests_total{route="GET /api/v1/staff/{id}",status="200"}
 *   metodnet_http_request_duration_seconds_bucket{route="…",le="0.005"} … _sum … _count
 * Broker gauges are appended by the HTTP module, which owns the broker. */
#ifndef METODNET_GATEWAY_METRICS_H
#define METODNET_GATEWAY_METRICS_H

#include <stdio.h>

typedef struct gateway_metrics gateway_metrics;

gateway_metrics *gateway_metrics_new(void);
void gateway_metrics_destroy(gateway_metrics **metrics);

/* Counts one finished request. route is a label such as "GET /api/v1/staff/{id}" (copied on first
 * use; at most 256 distinct labels are kept, further ones are counted under "other"). */
void gateway_metrics_observe(gateway_metrics *metrics, const char *route, int status, double seconds);

/* Writes the HTTP series (with # HELP/# TYPE lines) to out. */
void gateway_metrics_write(const gateway_metrics *metrics, FILE *out);

#endif
