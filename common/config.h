/* config — every process reads its settings here: command-line flags first, then METODNET_*
 * environment variables, then defaults that work on one machine.
 *
 *   --redis-host / METODNET_REDIS_HOST (127.0.0.1)   --redis-port / METODNET_REDIS_PORT (6379)
 *   --redis-socket / METODNET_REDIS_SOCKET            --redis-user / METODNET_REDIS_USER
 *   --redis-password / METODNET_REDIS_PASSWORD
 *   --redis-sentinels / METODNET_REDIS_SENTINELS (ip:port,ip:port,...: find the master through Sentinel)
 *   --redis-master-name / METODNET_REDIS_MASTER_NAME (metodnet)
 *   --redis-sentinel-password / METODNET_REDIS_SENTINEL_PASSWORD
 *   --redis-wait-replicas / METODNET_REDIS_WAIT_REPLICAS (0: entity writes do not WAIT)
 *   --redis-wait-ms / METODNET_REDIS_WAIT_MS (1000)
 *   --broker / METODNET_BROKER (tcp://127.0.0.1:5555) --http-port / METODNET_HTTP_PORT (8080)
 *   --broker-bind / METODNET_BROKER_BIND (the gateway: where its broker listens, one endpoint or several
 *   separated by commas; default the --broker endpoint; services ignore it)
 *   --broker-local / METODNET_BROKER_LOCAL (the gateway: ipc://<path>, the broker's endpoint for the
 *   workers of its own host, without Curve; a service whose --broker is ipc:// connects without keys)
 *   --http-host / METODNET_HTTP_HOST (127.0.0.1)      --concurrency / METODNET_CONCURRENCY (32)
 *   METODNET_HEARTBEAT_MS (1000), METODNET_HEARTBEAT_LIVENESS (3), METODNET_LOG_LEVEL (info)
 *   --request-timeout-ms / METODNET_REQUEST_TIMEOUT_MS (5000)
 *   --required-services / METODNET_REQUIRED_SERVICES (registry,auth,diagnostics)
 *   --max-body-bytes / METODNET_MAX_BODY_BYTES (1048576)
 *   --rate-limit / METODNET_RATE_LIMIT (50 requests per second per token; 0 = no limit)
 *   --keys-dir / METODNET_KEYS_DIR ($METODNET_DATA_DIR/keys, else var/keys): the CurveZMQ keys of the
 *   broker and its clients (curve_keys.h, docs/security.md)
 *   --broker-queue-max / METODNET_BROKER_QUEUE_MAX (1000 requests waiting per service; 0 = no bound)
 *   --health-interval-ms / METODNET_HEALTH_INTERVAL_MS (5000): the process's health report (process_health.h)
 */
#ifndef METODNET_CONFIG_H
#define METODNET_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "mdp.h"
#include "redis_link.h"

typedef struct {
    const char *service_name;
    redis_link_options redis;
    const char *broker_endpoint;
    const char *broker_bind;  /* gateway: the broker's bind endpoints (comma-separated), NULL = broker_endpoint */
    const char *broker_local; /* gateway: the broker's ipc:// endpoint for local workers, NULL = none */
    const char *http_host;
    int http_port;
    unsigned concurrency;
    uint32_t request_timeout_ms;
    mdp_heartbeat heartbeat;
    const char *required_services; /* gateway: comma-separated services /readyz waits for */
    size_t max_body_bytes;         /* gateway: request body limit */
    unsigned rate_limit;           /* gateway: requests per second per token, 0 = no limit */
    const char *keys_dir;          /* the Curve key files (curve_keys.h) */
    char keys_dir_default[512];    /* what keys_dir points at when neither flag nor env sets it */
    /* The process's Curve keys for its broker connections, set by whoever starts the service
     * (service_process, stack_fixture) after config_load; NULL = plain connections (unit tests). */
    const mdp_curve_keys *broker_curve;
    size_t broker_queue_max;     /* gateway: bound on each service's queue in the broker, 0 = none */
    uint32_t health_interval_ms; /* how often the process writes its health report (process_health.h) */
} config;

/* Fills cfg. Returns 0; on a bad flag or value prints a Russian message and usage to stderr and
 * returns -1. "--help" prints usage and returns 1. Strings point into argv/environ (borrowed). */
int config_load(config *cfg, const char *service_name, int argc, char **argv);

#endif
