/* service_process — the life of a domain service process, once for every service: read the config,
 * start logs, read the process's CurveZMQ keys (<keys dir>/broker.pub and <keys dir>/<name>.key, into
 * config.broker_curve; the process does not start without them), the ZeroMQ context and the Redis
 * link, create the service (an MDP worker), run the loop,
 * and on SIGTERM/SIGINT let the service finish what it is doing, close Redis and exit 0. A service's
 * main.c is one call to service_process_main().
 */
#ifndef METODNET_SERVICE_PROCESS_H
#define METODNET_SERVICE_PROCESS_H

#include <uv.h>

#include "config.h"
#include "redis_link.h"

typedef struct {
    const char *name;     /* "registry": MDP service, log field, config name */
    const char *title_ru; /* «служба реестра», for log lines a person reads */
    /* Creates the service; link is borrowed and outlives it. NULL on failure. */
    void *(*start)(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link);
    /* Graceful stop: finish running requests, free the service, then call done(ud). */
    void (*stop)(void *service, void (*done)(void *ud), void *ud);
    /* Printed after the usage text of --help (may be NULL). */
    const char *usage_extra_ru;
} service_process;

/* Runs the process; returns the exit code (0 after a graceful stop, 1 when it could not start, 2 on
 * bad arguments). */
int service_process_main(const service_process *process, int argc, char **argv);

#endif
