/* service_process — config, logs, Redis, MDP worker, the health report and graceful stop of a service
 * process (see service_process.h). The Curve keys of the broker connections are read here, once for every service. */
#include "service_process.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "curve_keys.h"
#include "log.h"
#include "process_health.h"
#include "shutdown.h"

typedef struct {
    const service_process *process;
    redis_link *link;
    void *service;
    process_health *health;
} s_running;

static void s_health_gone(void *ud)
{
    s_running *r = ud;
    redis_link_close(&r->link);
    shutdown_unwatch();
    log_info(NULL, "%s остановлена", r->process->title_ru);
}

/* The service has finished its requests: its health report goes (a stop is not a silence), then Redis. */
static void s_stopped(void *ud)
{
    s_running *r = ud;
    process_health_stop(&r->health, s_health_gone, r);
}

static void s_on_signal(void *ud)
{
    s_running *r = ud;
    log_info(NULL, "получен сигнал остановки: %s завершает текущие запросы", r->process->title_ru);
    r->process->stop(r->service, s_stopped, r);
}

int service_process_main(const service_process *process, int argc, char **argv)
{
    config cfg;
    int rc = config_load(&cfg, process->name, argc, argv);
    if (rc != 0) {
        if (rc > 0 && process->usage_extra_ru)
            fputs(process->usage_extra_ru, stderr);
        return rc > 0 ? 0 : 2;
    }
    log_init(process->name);
    uv_loop_t *loop = uv_default_loop();
    void *zmq_context = zmq_ctx_new();
    if (zmq_context == NULL) {
        log_error(NULL, "не удалось создать контекст ZeroMQ");
        return 1;
    }
    /* the keys this process connects to the broker with: <keys dir>/broker.pub and <keys dir>/<name>.key;
     * none on the broker's local ipc:// endpoint, which the file system guards (broker_auth.h) */
    mdp_curve_keys curve;
    char problem[512];
    bool local = strncmp(cfg.broker_endpoint, "ipc://", 6) == 0;
    memset(&curve, 0, sizeof curve);
    if (!local && curve_keys_load_client(cfg.keys_dir, process->name, &curve, problem, sizeof problem) != 0) {
        log_error(NULL, "%s не запущена: ключи CurveZMQ (%s): %s", process->title_ru, cfg.keys_dir, problem);
        zmq_ctx_term(zmq_context);
        return 1;
    }
    cfg.broker_curve = local ? NULL : &curve;
    s_running r = {process, NULL, NULL, NULL};
    r.link = redis_link_new(loop, &cfg.redis);
    if (r.link == NULL) {
        log_error(NULL, "не удалось создать соединение с Redis");
        zmq_ctx_term(zmq_context);
        sodium_memzero(&curve, sizeof curve);
        return 1;
    }
    r.service = process->start(loop, zmq_context, &cfg, r.link);
    if (r.service == NULL) {
        log_error(NULL, "%s не запущена: нет связи с брокером %s", process->title_ru, cfg.broker_endpoint);
        redis_link_close(&r.link);
        uv_run(loop, UV_RUN_NOWAIT);
        zmq_ctx_term(zmq_context);
        sodium_memzero(&curve, sizeof curve);
        return 1;
    }
    /* silence from the broker past the heartbeat expiry makes the report "degraded" */
    r.health = process_health_start(loop, r.link, process->name, cfg.health_interval_ms,
                                    cfg.heartbeat.interval_ms * cfg.heartbeat.liveness);
    shutdown_watch(loop, s_on_signal, &r);
    log_info(NULL, "%s запущена: брокер %s%s, Redis %s:%d, одновременных запросов %u", process->title_ru,
             cfg.broker_endpoint, local ? " (локальный, без CurveZMQ)" : " (CurveZMQ)",
             cfg.redis.unix_path ? cfg.redis.unix_path : cfg.redis.host, cfg.redis.port, cfg.concurrency);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    zmq_ctx_term(zmq_context);
    sodium_memzero(&curve, sizeof curve);
    return 0;
}
