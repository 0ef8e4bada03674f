/* gateway — process entry: reads config, wires the MDP broker, the Redis link and the HTTP front on
 * one libuv loop (the broker behind CurveZMQ with its ZAP handler, broker_auth.h), and shuts down in order on SIGTERM/SIGINT: stop accepting, fail what waits on the
 * broker, close Redis, let open connections finish (at most S_DRAIN_MS), end the loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>
#include <zmq.h>

#include "auth.h"
#include "broker_auth.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "mdp_broker.h"
#include "process_health.h"
#include "redis_link.h"
#include "shutdown.h"

#define S_DRAIN_MS      3000
#define S_DRAIN_POLL_MS 50

typedef struct {
    uv_loop_t *loop;
    mdp_broker *broker;
    broker_auth *broker_auth;
    redis_link *redis;
    process_health *health;
    gateway_http *http;
    uv_timer_t drain;
    uint64_t drain_started;
} s_gateway;

static void s_on_drain(uv_timer_t *timer)
{
    s_gateway *g = timer->data;
    size_t open = gateway_http_connections(g->http);
    bool late = uv_now(g->loop) - g->drain_started >= S_DRAIN_MS;
    if (open > 0 && !late)
        return;
    if (open > 0)
        log_warn(NULL, "остановка: %zu соединений не закрылись за %d мс, закрываются принудительно", open, S_DRAIN_MS);
    uv_close((uv_handle_t *)&g->drain, NULL);
    gateway_http_destroy(&g->http);
    shutdown_unwatch();
    if (open > 0)
        uv_stop(g->loop);
}

/* The health report is deleted (a stop is not a silence) before Redis closes. */
static void s_on_health_gone(void *ud)
{
    s_gateway *g = ud;
    redis_link_close(&g->redis);
}

static void s_on_signal(void *ud)
{
    s_gateway *g = ud;
    log_info(NULL, "получен сигнал остановки: шлюз больше не принимает соединения");
    gateway_http_stop(g->http);
    mdp_broker_destroy(&g->broker);
    broker_auth_destroy(&g->broker_auth);
    process_health_stop(&g->health, s_on_health_gone, g);
    g->drain_started = uv_now(g->loop);
    uv_timer_init(g->loop, &g->drain);
    g->drain.data = g;
    uv_timer_start(&g->drain, s_on_drain, 0, S_DRAIN_POLL_MS);
}

int main(int argc, char **argv)
{
    config cfg;
    int rc = config_load(&cfg, "gateway", argc, argv);
    if (rc != 0)
        return rc < 0 ? 2 : 0;
    log_init("gateway");

    s_gateway g = {0};
    g.loop = uv_default_loop();
    void *zmq = zmq_ctx_new();
    if (zmq == NULL) {
        log_error(NULL, "не удалось создать контекст ZeroMQ");
        return 1;
    }
    /* CurveZMQ on the broker socket: only keys of <keys dir>/clients connect (broker_auth.h) */
    char problem[512];
    g.broker_auth = broker_auth_open(g.loop, zmq, cfg.keys_dir, problem, sizeof problem);
    if (g.broker_auth == NULL) {
        log_error(NULL, "брокер не открыт: ключи CurveZMQ (%s): %s", cfg.keys_dir, problem);
        zmq_ctx_term(zmq);
        return 1;
    }
    mdp_broker_security security;
    /* METODNET_BROKER_LOCAL: the workers of this host over ipc://, without Curve (broker_auth.h) */
    broker_auth_security(g.broker_auth, cfg.broker_local, &security);
    /* METODNET_BROKER_BIND: several addresses (loopback and the one other hosts reach), else METODNET_BROKER */
    const char *bind = cfg.broker_bind ? cfg.broker_bind : cfg.broker_endpoint;
    g.broker = mdp_broker_new_secure(g.loop, zmq, bind, cfg.heartbeat, &security);
    if (g.broker == NULL) {
        log_error(NULL, "не удалось открыть брокер на %s%s%s: %s", bind, cfg.broker_local ? " и " : "",
                  cfg.broker_local ? cfg.broker_local : "",
                  errno == EPERM ? "каталог сокета доступен не только владельцу (нужно 0700)"
                                 : zmq_strerror(zmq_errno()));
        broker_auth_destroy(&g.broker_auth);
        uv_run(g.loop, UV_RUN_NOWAIT);
        zmq_ctx_term(zmq);
        return 1;
    }
    /* past the bound a request is answered 503 + Retry-After at once instead of waiting (docs/operations.md) */
    mdp_broker_set_queue_max(g.broker, cfg.broker_queue_max);
    g.redis = redis_link_new(g.loop, &cfg.redis);
    gateway_http_options options;
    gateway_http_options_default(&options);
    options.host = cfg.http_host;
    options.port = cfg.http_port;
    options.request_timeout_ms = cfg.request_timeout_ms;
    options.max_body_bytes = cfg.max_body_bytes;
    options.required_services = cfg.required_services;
    options.rate_limit = cfg.rate_limit;
    /* the web console (static.c): METODNET_WEB_DIR, else the checkout's web/dist */
    options.web_dir = getenv("METODNET_WEB_DIR") ? getenv("METODNET_WEB_DIR") : METODNET_WEB_DIR_DEFAULT;
    g.http = g.redis ? gateway_http_new(g.loop, &options, g.broker, g.redis) : NULL;
    if (g.http == NULL || shutdown_watch(g.loop, s_on_signal, &g) != 0) {
        log_error(NULL, "шлюз не запущен");
        gateway_http_destroy(&g.http);
        mdp_broker_destroy(&g.broker);
        broker_auth_destroy(&g.broker_auth);
        redis_link_close(&g.redis);
        uv_run(g.loop, UV_RUN_NOWAIT);
        zmq_ctx_term(zmq);
        return 1;
    }
    /* the gateway holds the broker itself: no broker silence to report */
    g.health = process_health_start(g.loop, g.redis, "gateway", cfg.health_interval_ms, 0);
    log_info(NULL, "шлюз слушает http://%s:%d, брокер MDP на %s (CurveZMQ, ключи %s)%s%s", cfg.http_host,
             gateway_http_port(g.http), bind, cfg.keys_dir, cfg.broker_local ? ", для этой машины — " : "",
             cfg.broker_local ? cfg.broker_local : "");
    uv_run(g.loop, UV_RUN_DEFAULT);
    zmq_ctx_term(zmq);
    if (uv_loop_close(g.loop) != 0)
        log_debug(NULL, "цикл событий закрыт с незакрытыми дескрипторами");
    log_info(NULL, "шлюз остановлен");
    return 0;
}
