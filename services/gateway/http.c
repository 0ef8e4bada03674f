/* http — h2o request handling for the gateway (see http.h).
 *
 * Invariants:
 *  - every response goes through gateway_http_send(), which sets X-Request-Id and counts the metrics;
 *  - a http_call lives while it is referenced by the h2o request pool (dispose hook) or by an
 *    outstanding callback (broker reply, Redis reply); `req` is NULL once h2o has disposed it;
 *  - calls waiting for the broker are on http->calls, which a 250 ms timer scans for the HTTP-side
 *    deadline (request timeout + 1 s), a guard behind the broker's own deadline.
 *
 * This file: the listener, dispatch of requests, the service endpoints (healthz, readyz) and the
 * lifetime; responses are in http_reply.c, the calls to the services in http_call.c, /metrics and
 * the processes' health in health.c, and
 * http_internal.h declares what they share.
 */
#include "http_internal.h"

typedef struct {
    h2o_handler_t super;
    gateway_http *http;
} s_handler;

typedef struct {
    uv_tcp_t tcp;
    gateway_http *http;
} s_connection;

/* ---- service endpoints ---- */

static void s_on_ping(const redisReply *reply, const char *error, void *ud)
{
    (void)error;
    http_call *call = ud;
    gateway_http *http = call->http;
    if (call->req != NULL && !call->responded) {
        api_error_detail details[16];
        char descriptions[16][160], names[16][MDP_SERVICE_NAME_MAX + 1];
        size_t n = 0;
        bool redis_ok =
            reply != NULL && reply->type == REDIS_REPLY_STATUS && reply->str != NULL && strcmp(reply->str, "PONG") == 0;
        if (!redis_ok) {
            const char *not_ready = http->redis ? redis_link_not_ready(http->redis) : NULL;
            details[n].field = "redis";
            details[n].description = not_ready == NULL                       ? "Redis не отвечает на PING"
                                     : strncmp(not_ready, "LOADING", 7) == 0 ? "Redis загружает данные в память"
                                     : strncmp(not_ready, "BUSY", 4) == 0 ? "Redis занят выполнением скрипта"
                                                                          : "Redis-реплика потеряла связь с ведущим";
            n++;
        }
        const char *p = http->required_services;
        while (p != NULL && *p != '\0' && n < 16) {
            size_t len = strcspn(p, ",");
            if (len > 0 && len <= MDP_SERVICE_NAME_MAX) {
                snprintf(names[n], sizeof names[n], "%.*s", (int)len, p);
                if (http->broker == NULL || mdp_broker_worker_count(http->broker, names[n]) == 0) {
                    snprintf(descriptions[n], sizeof descriptions[n], "Нет ни одного исполнителя службы «%s»",
                             names[n]);
                    details[n].field = names[n];
                    details[n].description = descriptions[n];
                    n++;
                }
            }
            p += len;
            if (*p == ',')
                p++;
        }
        call->responded = true;
        if (n == 0) {
            static const char ok[] = "{\"status\":\"ready\"}";
            gateway_http_send(http, call->req, call->label, call->request_id, call->started_ns, 200, HTTP_JSON, ok,
                              sizeof ok - 1, NULL);
        } else {
            gateway_http_send_error(http, call->req, call->label, call->request_id, call->started_ns, 503,
                                    "unavailable", "Шлюз не готов принимать запросы", details, n, NULL);
        }
    }
    gateway_http_call_unref(call);
}

static void s_handle_readyz(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id,
                            uint64_t started_ns)
{
    http_call *call = gateway_http_call_new(http, req, label, request_id, started_ns);
    if (call == NULL) {
        gateway_http_send_error(http, req, label, request_id, started_ns, 500, "internal", "Недостаточно памяти", NULL,
                                0, NULL);
        return;
    }
    call->refs++;
    /* Not connected or Redis still loading: answer now rather than after the PING's deadline. */
    if (http->redis == NULL || !redis_link_connected(http->redis) ||
        redis_link_commandf(http->redis, s_on_ping, call, "PING") != 0) {
        /* answer as if Redis said nothing */
        s_on_ping(NULL, "closed", call);
    }
}

static bool s_method_is(const h2o_req_t *req, const char *method)
{
    return req->method.len == strlen(method) && memcmp(req->method.base, method, req->method.len) == 0;
}

/* /healthz, /readyz, /metrics, /api/v1/openapi.json, /healthz/processes; false when path is none of them. */
static bool s_handle_service_path(gateway_http *http, h2o_req_t *req, const char *path, size_t path_len,
                                  const char *request_id, uint64_t started_ns)
{
    static const char *const paths[] = {"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json",
                                        "/healthz/processes"};
    enum { N_PATHS = sizeof paths / sizeof paths[0] };
    size_t which;
    for (which = 0; which < N_PATHS; which++)
        if (strlen(paths[which]) == path_len && memcmp(paths[which], path, path_len) == 0)
            break;
    if (which == N_PATHS)
        return false;
    char label[64];
    snprintf(label, sizeof label, "GET %s", paths[which]);
    if (!s_method_is(req, "GET") && !s_method_is(req, "HEAD")) {
        http_extra extra = {NULL, NULL, "GET, HEAD", false, 0, NULL, NULL};
        gateway_http_send_error(http, req, label, request_id, started_ns, 405, NULL,
                                "Метод не поддерживается для этого пути", NULL, 0, &extra);
        return true;
    }
    switch (which) {
    case 0: {
        static const char ok[] = "{\"status\":\"ok\"}";
        gateway_http_send(http, req, label, request_id, started_ns, 200, HTTP_JSON, ok, sizeof ok - 1, NULL);
        break;
    }
    case 1:
        s_handle_readyz(http, req, label, request_id, started_ns);
        break;
    case 2:
        gateway_health_metrics(http, req, label, request_id, started_ns);
        break;
    case 4:
        gateway_health_processes(http, req, label, request_id, started_ns);
        break;
    default:
        if (http->openapi == NULL)
            gateway_http_send_error(http, req, label, request_id, started_ns, 500, "internal",
                                    "Документ OpenAPI недоступен", NULL, 0, NULL);
        else
            gateway_http_send(http, req, label, request_id, started_ns, 200, HTTP_JSON, http->openapi,
                              http->openapi_len, NULL);
        break;
    }
    return true;
}

static int s_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    gateway_http *http = ((s_handler *)self)->http;
    uint64_t started_ns = uv_hrtime();
    char request_id[72];
    gateway_http_request_id(req, request_id);
    const char *path = req->input.path.base;
    size_t path_len = req->input.path.len, query_len = 0;
    const char *query = NULL;
    if (req->input.query_at != SIZE_MAX && req->input.query_at < path_len) {
        query = path + req->input.query_at + 1;
        query_len = path_len - req->input.query_at - 1;
        path_len = req->input.query_at;
    }
    if (gateway_http_header_bytes(req) > http->options.max_header_bytes) {
        char text[160];
        snprintf(text, sizeof text, "Заголовки запроса больше допустимого (%zu байт)", http->options.max_header_bytes);
        gateway_http_send_error(http, req, "other", request_id, started_ns, 431, NULL, text, NULL, 0, NULL);
        return 0;
    }
    if (http->stopping) {
        req->http1_is_persistent = 0;
        gateway_http_send_error(http, req, "other", request_id, started_ns, 503, "unavailable",
                                "Шлюз останавливается, повторите запрос позже", NULL, 0, NULL);
        return 0;
    }
    if (s_handle_service_path(http, req, path, path_len, request_id, started_ns))
        return 0;
    if (gateway_static_serve(http->web, http->metrics, req, path, path_len, request_id, started_ns))
        return 0; /* the web console */
    route_match m;
    switch (routes_match(req->method.base, req->method.len, path, path_len, &m)) {
    case ROUTES_FOUND:
        if (m.route->flags & ROUTE_SSE) {
            gateway_sse_handle(http->sse, req, &m, request_id, started_ns, query, query_len);
            break;
        }
        gateway_http_handle_api(http, req, &m, request_id, started_ns, path, path_len, query, query_len);
        break;
    case ROUTES_METHOD_NOT_ALLOWED: {
        http_extra extra = {NULL, NULL, m.allow, false, 0, NULL, NULL};
        gateway_http_send_error(http, req, "other", request_id, started_ns, 405, NULL,
                                "Метод не поддерживается для этого пути", NULL, 0, &extra);
        break;
    }
    default:
        gateway_http_send_error(http, req, "other", request_id, started_ns, 404, "not_found", "Путь не найден", NULL, 0,
                                NULL);
        break;
    }
    return 0;
}

/* ---- listener and lifetime ---- */

static void s_on_connection_closed(uv_handle_t *handle)
{
    s_connection *conn = (s_connection *)handle;
    conn->http->connections--;
    free(conn);
}

static void s_on_accept(uv_stream_t *listener, int status)
{
    gateway_http *http = listener->data;
    if (status != 0)
        return;
    s_connection *conn = calloc(1, sizeof *conn);
    if (conn == NULL)
        return;
    conn->http = http;
    uv_tcp_init(listener->loop, &conn->tcp);
    http->connections++;
    if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
        uv_close((uv_handle_t *)&conn->tcp, s_on_connection_closed);
        return;
    }
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&conn->tcp, s_on_connection_closed);
    h2o_accept(&http->accept_ctx, sock);
}

void gateway_http_options_default(gateway_http_options *options)
{
    memset(options, 0, sizeof *options);
    options->host = "127.0.0.1";
    options->port = 8080;
    options->max_body_bytes = 1024 * 1024;
    options->max_header_bytes = 16 * 1024;
    options->request_timeout_ms = 5000;
    options->required_services = "registry";
    options->rate_limit = 50;
}

static void s_free_handle(uv_handle_t *handle)
{
    free(handle);
}

gateway_http *gateway_http_new(uv_loop_t *loop, const gateway_http_options *options, mdp_broker *broker,
                               redis_link *redis)
{
    if (sodium_init() < 0)
        return NULL;
    size_t n_routes;
    const route *table = routes_table(&n_routes);
    char problem[512];
    if (routes_check(table, n_routes, problem, sizeof problem) != NULL) {
        log_error(NULL, "таблица маршрутов не сходится с proto-описаниями служб: %s", problem);
        return NULL;
    }
    gateway_http *http = calloc(1, sizeof *http);
    if (http == NULL)
        return NULL;
    http->loop = loop;
    http->options = *options;
    if (http->options.max_body_bytes == 0)
        http->options.max_body_bytes = 1024 * 1024;
    if (http->options.max_header_bytes == 0)
        http->options.max_header_bytes = 16 * 1024;
    if (http->options.request_timeout_ms == 0)
        http->options.request_timeout_ms = 5000;
    http->required_services = strdup(options->required_services ? options->required_services : "registry");
    http->broker = broker;
    http->redis = redis;
    http->metrics = gateway_metrics_new();
    http->openapi = gateway_openapi_text(&http->openapi_len);
    http->web = gateway_static_new(options->web_dir);
    if (redis != NULL)
        http->idempotency = gateway_idempotency_new(redis, http->options.request_timeout_ms);
    if (broker != NULL) {
        gateway_auth_options auth_options;
        gateway_auth_options_default(&auth_options);
        auth_options.requests_per_second = http->options.rate_limit;
        auth_options.burst = http->options.rate_limit * 4;
        http->auth = gateway_auth_new(loop, broker, &auth_options);
    }

    h2o_config_init(&http->config);
    /* h2o refuses bodies above this itself (plain-text 413); up to it, the handler answers a JSON 413 for
     * anything above max_body_bytes — so typical oversize bodies get the API's error shape. */
    http->config.max_request_entity_size =
        HTTP_H2O_BODY_LIMIT > http->options.max_body_bytes * 2 ? HTTP_H2O_BODY_LIMIT : http->options.max_body_bytes * 2;
    /* routes that take files (import) raise it for themselves; the handler keeps every other route at
     * its own limit (h2o's limit is per host, not per path) */
    if (routes_max_body_bytes() + 64 * 1024 > http->config.max_request_entity_size)
        http->config.max_request_entity_size = routes_max_body_bytes() + 64 * 1024;
    h2o_hostconf_t *host = h2o_config_register_host(&http->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(host, "/", 0);
    s_handler *handler = (s_handler *)h2o_create_handler(pathconf, sizeof *handler);
    handler->super.on_req = s_on_req;
    handler->http = http;
    h2o_context_init(&http->ctx, loop, &http->config);
    http->accept_ctx.ctx = &http->ctx;
    http->accept_ctx.hosts = http->config.hosts;

    http->sse = gateway_sse_new(http);
    http->tick = calloc(1, sizeof *http->tick);
    http->listener = calloc(1, sizeof *http->listener);
    if (http->required_services == NULL || http->metrics == NULL || http->sse == NULL || http->web == NULL ||
        http->tick == NULL || http->listener == NULL || (redis != NULL && http->idempotency == NULL) ||
        (broker != NULL && http->auth == NULL))
        goto fail;
    uv_timer_init(loop, http->tick);
    http->tick->data = http;
    uv_timer_start(http->tick, gateway_http_on_tick, HTTP_TICK_MS, HTTP_TICK_MS);

    struct sockaddr_storage addr;
    const char *h = options->host && strcmp(options->host, "localhost") != 0 ? options->host : "127.0.0.1";
    int rc = uv_ip4_addr(h, options->port, (struct sockaddr_in *)&addr);
    if (rc != 0)
        rc = uv_ip6_addr(h, options->port, (struct sockaddr_in6 *)&addr);
    uv_tcp_init(loop, http->listener);
    http->listener->data = http;
    if (rc == 0)
        rc = uv_tcp_bind(http->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)http->listener, 512, s_on_accept);
    if (rc != 0) {
        log_error(NULL, "не удалось открыть HTTP-порт %s:%d: %s", h, options->port, uv_strerror(rc));
        goto fail;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    if (uv_tcp_getsockname(http->listener, (struct sockaddr *)&bound, &blen) == 0)
        http->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                       : ((struct sockaddr_in *)&bound)->sin_port);
    return http;
fail:
    gateway_http_destroy(&http);
    return NULL;
}

int gateway_http_port(const gateway_http *http)
{
    return http->port;
}

size_t gateway_http_connections(const gateway_http *http)
{
    return http->connections;
}

void gateway_http_stop(gateway_http *http)
{
    if (http->stopping)
        return;
    http->stopping = true;
    if (http->listener != NULL) {
        if (http->listener->loop != NULL)
            uv_close((uv_handle_t *)http->listener, s_free_handle);
        else
            free(http->listener); /* never initialised (failed start) */
        http->listener = NULL;
    }
    gateway_sse_stop(http->sse);
    h2o_context_request_shutdown(&http->ctx);
    http->broker = NULL;
    http->redis = NULL;
    gateway_idempotency_destroy(&http->idempotency);
}

void gateway_http_destroy(gateway_http **httpp)
{
    if (httpp == NULL || *httpp == NULL)
        return;
    gateway_http *http = *httpp;
    *httpp = NULL;
    gateway_http_stop(http);
    if (http->tick != NULL) {
        if (http->tick->loop != NULL) /* initialised */
            uv_close((uv_handle_t *)http->tick, s_free_handle);
        else
            free(http->tick);
    }
    gateway_sse_destroy(&http->sse);
    gateway_auth_destroy(&http->auth); /* waits on the service were failed by mdp_broker_destroy, ready ones now */
    /* broker requests still on the list were failed by mdp_broker_destroy before we get here; any left
     * (none in a correct shutdown) are abandoned with their calls. */
    if (http->connections == 0) {
        /* h2o_context_request_shutdown() armed the HTTP/2 graceful-shutdown timer; with no connection
         * left it has nothing to do, and h2o_context_dispose() asserts that every timeout is empty. */
        if (h2o_timeout_is_linked(&http->ctx.http2._graceful_shutdown_timeout))
            h2o_timeout_unlink(&http->ctx.http2._graceful_shutdown_timeout);
        h2o_context_dispose(&http->ctx);
        h2o_config_dispose(&http->config);
        gateway_metrics_destroy(&http->metrics);
        gateway_static_destroy(&http->web);
        free(http->openapi);
        free(http->required_services);
        free(http);
    }
    /* else: h2o still owns connections that reference ctx/config; they end with the process. */
}
