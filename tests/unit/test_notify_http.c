/* test_notify_http — the outbound HTTP of webhook deliveries (libcurl multi-socket on libuv) against a
 * real TCP server on loopback run by this test on the same loop: an answer's status, first bytes and
 * Retry-After; a redirect is an answer, not followed; a private address is refused after resolving
 * ("localhost" too) unless allowed; a refused connection is an error in Russian; destroying with a
 * transfer in flight ends it as aborted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "notify_http.h"

typedef struct {
    uv_tcp_t server;
    int port;
    const char *answer;
    int requests;
} s_server;

typedef struct {
    uv_tcp_t tcp;
    s_server *server;
    char buf[8192];
    size_t len;
    uv_write_t write;
} s_conn;

static void s_on_conn_closed(uv_handle_t *h)
{
    free(h->data);
}

static void s_on_written(uv_write_t *w, int status)
{
    (void)status;
    s_conn *c = w->data;
    uv_close((uv_handle_t *)&c->tcp, s_on_conn_closed);
}

static void s_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    s_conn *c = h->data;
    *buf = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - c->len - 1));
}

static void s_on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    s_conn *c = stream->data;
    if (n < 0) {
        uv_close((uv_handle_t *)&c->tcp, s_on_conn_closed);
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    char *end = strstr(c->buf, "\r\n\r\n");
    const char *cl = strstr(c->buf, "Content-Length: ");
    if (end == NULL || cl == NULL || c->len < (size_t)(end + 4 - c->buf) + (size_t)atoi(cl + 16))
        return;
    c->server->requests++;
    uv_read_stop(stream);
    uv_buf_t out = uv_buf_init((char *)c->server->answer, (unsigned)strlen(c->server->answer));
    c->write.data = c;
    uv_write(&c->write, stream, &out, 1, s_on_written);
}

static void s_on_connection(uv_stream_t *server, int status)
{
    assert_int_equal(status, 0);
    s_conn *c = calloc(1, sizeof *c);
    c->server = server->data;
    uv_tcp_init(server->loop, &c->tcp);
    c->tcp.data = c;
    assert_int_equal(uv_accept(server, (uv_stream_t *)&c->tcp), 0);
    uv_read_start((uv_stream_t *)&c->tcp, s_alloc, s_on_read);
}

static void s_server_start(uv_loop_t *loop, s_server *s, const char *answer)
{
    memset(s, 0, sizeof *s);
    s->answer = answer;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_init(loop, &s->server);
    s->server.data = s;
    assert_int_equal(uv_tcp_bind(&s->server, (const struct sockaddr *)&addr, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s->server, 16, s_on_connection), 0);
    struct sockaddr_in bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&s->server, (struct sockaddr *)&bound, &len);
    s->port = ntohs(bound.sin_port);
}

typedef struct {
    uv_loop_t *loop;
    bool done;
    int status;
    int retry_after;
    bool aborted;
    char error[400];
    char excerpt[NOTIFY_HTTP_EXCERPT + 1];
} s_result;

static void s_on_result(const notify_http_result *r, void *ud)
{
    s_result *out = ud;
    out->done = true;
    uv_stop(out->loop); /* the servers keep the loop alive */
    out->status = r->status;
    out->retry_after = r->retry_after_s;
    out->aborted = r->aborted;
    snprintf(out->error, sizeof out->error, "%s", r->error ? r->error : "");
    snprintf(out->excerpt, sizeof out->excerpt, "%s", r->excerpt ? r->excerpt : "");
}

static void s_post(uv_loop_t *loop, notify_http *http, const char *url, s_result *out)
{
    const char *headers[] = {"Content-Type: application/json", "webhook-id: 07-n1"};
    memset(out, 0, sizeof *out);
    out->loop = loop;
    assert_int_equal(notify_http_post(http, url, headers, 2, "{\"a\":1}", 7, s_on_result, out), 0);
    while (!out->done)
        uv_run(loop, UV_RUN_DEFAULT);
}

static void s_close_server(uv_handle_t *h)
{
    (void)h;
}

static void test_answers(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    s_server ok, later, moved;
    s_server_start(&loop, &ok, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}");
    s_server_start(&loop, &later,
                   "HTTP/1.1 429 Too Many\r\nRetry-After: 120\r\nContent-Length: 4\r\nConnection: close\r\n\r\nwait");
    s_server_start(&loop, &moved,
                   "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\nConnection: "
                   "close\r\n\r\n");
    notify_http *http = notify_http_new(&loop, true, 3000);
    char url[128];
    s_result r;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", ok.port);
    s_post(&loop, http, url, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.excerpt, "{\"ok\":true}");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", later.port);
    s_post(&loop, http, url, &r);
    assert_int_equal(r.status, 429);
    assert_int_equal(r.retry_after, 120);
    assert_string_equal(r.excerpt, "wait");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", moved.port);
    s_post(&loop, http, url, &r);
    assert_int_equal(r.status, 302); /* not followed */
    assert_int_equal(moved.requests, 1);
    /* nobody listens on port 1: no answer, a Russian error */
    s_post(&loop, http, "http://127.0.0.1:1/hook", &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.error, "Нет ответа получателя"));
    /* destroyed with a transfer in flight: it ends as aborted */
    s_result pending = {.loop = &loop};
    const char *headers[] = {"Content-Type: application/json"};
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", ok.port);
    assert_int_equal(notify_http_post(http, url, headers, 1, "{}", 2, s_on_result, &pending), 0);
    assert_int_equal(notify_http_in_flight(http), 1);
    notify_http_destroy(&http);
    assert_true(pending.done);
    assert_true(pending.aborted);
    uv_close((uv_handle_t *)&ok.server, s_close_server);
    uv_close((uv_handle_t *)&later.server, s_close_server);
    uv_close((uv_handle_t *)&moved.server, s_close_server);
    while (uv_loop_alive(&loop))
        uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_private_addresses_refused_after_resolving(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    s_server ok;
    s_server_start(&loop, &ok, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    notify_http *http = notify_http_new(&loop, false, 3000);
    char url[128];
    s_result r;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", ok.port);
    s_post(&loop, http, url, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.error, "частная или локальная сеть"));
    snprintf(url, sizeof url, "http://localhost:%d/hook", ok.port); /* a name: refused on its address */
    s_post(&loop, http, url, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.error, "частная или локальная сеть"));
    assert_int_equal(ok.requests, 0);
    notify_http_destroy(&http);
    uv_close((uv_handle_t *)&ok.server, s_close_server);
    while (uv_loop_alive(&loop))
        uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_answers),
                                       cmocka_unit_test(test_private_addresses_refused_after_resolving)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
