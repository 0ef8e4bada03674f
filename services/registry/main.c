/* metodnet-registry — the registry service process: read config, connect Redis, register with the
 * broker as an MDP worker, run the loop until SIGTERM. */
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>

#include "config.h"
#include "log.h"
#include "redis_link.h"
#include "registry.h"
#include "shutdown.h"

typedef struct {
    redis_link *link;
    registry *reg;
} process;

static void s_registry_stopped(void *ud)
{
    process *p = ud;
    redis_link_close(&p->link);
    shutdown_unwatch();
    log_info(NULL, "служба реестра остановлена");
}

static void s_on_signal(void *ud)
{
    process *p = ud;
    log_info(NULL, "получен сигнал остановки: завершаю текущие запросы");
    registry_shutdown(p->reg, s_registry_stopped, p);
}

int main(int argc, char **argv)
{
    config cfg;
    int rc = config_load(&cfg, "registry", argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    log_init("registry");
    uv_loop_t *loop = uv_default_loop();
    void *zmq_context = zmq_ctx_new();
    process p = {0};
    p.link = redis_link_new(loop, &cfg.redis);
    if (p.link == NULL) {
        log_error(NULL, "не удалось создать соединение с Redis");
        return 1;
    }
    p.reg = registry_new(loop, zmq_context, &cfg, p.link);
    if (p.reg == NULL) {
        log_error(NULL, "не удалось подключиться к брокеру %s", cfg.broker_endpoint);
        redis_link_close(&p.link);
        return 1;
    }
    shutdown_watch(loop, s_on_signal, &p);
    log_info(NULL, "служба реестра запущена: брокер %s, Redis %s:%d, одновременных запросов %u", cfg.broker_endpoint,
             cfg.redis.unix_path ? cfg.redis.unix_path : cfg.redis.host, cfg.redis.port, cfg.concurrency);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    zmq_ctx_term(zmq_context);
    return 0;
}
