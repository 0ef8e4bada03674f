/* metodnet-diagnostics — the diagnostics service process: read config, connect Redis, register with
 * the broker as the MDP service "diagnostics", run the loop until SIGTERM. */
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>

#include "config.h"
#include "diagnostics.h"
#include "log.h"
#include "redis_link.h"
#include "shutdown.h"

typedef struct {
    redis_link *link;
    diagnostics *service;
} process;

static void s_stopped(void *ud)
{
    process *p = ud;
    redis_link_close(&p->link);
    shutdown_unwatch();
    log_info(NULL, "служба диагностики остановлена");
}

static void s_on_signal(void *ud)
{
    process *p = ud;
    log_info(NULL, "получен сигнал остановки: завершаю текущие запросы");
    diagnostics_shutdown(p->service, s_stopped, p);
}

int main(int argc, char **argv)
{
    config cfg;
    int rc = config_load(&cfg, "diagnostics", argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    log_init("diagnostics");
    uv_loop_t *loop = uv_default_loop();
    void *zmq_context = zmq_ctx_new();
    process p = {0};
    p.link = redis_link_new(loop, &cfg.redis);
    if (p.link == NULL) {
        log_error(NULL, "не удалось создать соединение с Redis");
        return 1;
    }
    p.service = diagnostics_new(loop, zmq_context, &cfg, p.link);
    if (p.service == NULL) {
        log_error(NULL, "не удалось подключиться к брокеру %s", cfg.broker_endpoint);
        redis_link_close(&p.link);
        return 1;
    }
    shutdown_watch(loop, s_on_signal, &p);
    log_info(NULL, "служба диагностики запущена: брокер %s, Redis %s:%d, одновременных запросов %u",
             cfg.broker_endpoint, cfg.redis.unix_path ? cfg.redis.unix_path : cfg.redis.host, cfg.redis.port,
             cfg.concurrency);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    zmq_ctx_term(zmq_context);
    return 0;
}
