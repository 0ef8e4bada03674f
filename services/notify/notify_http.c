/* notify_http — libcurl multi-socket on libuv (see notify_http.h), after the pattern of curl's
 * docs/examples/multi-uv.c with its warnings heeded. */
#include "notify_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <curl/curl.h>

#include "notify_sign.h"
#include "xalloc.h"

typedef struct s_transfer s_transfer;

struct notify_http {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    bool allow_private;
    uint32_t timeout_ms;
    size_t in_flight;
    s_transfer *transfers;
    bool closing;
    unsigned handles_open;
};

/* One socket curl watches: freed only in the uv_close callback. */
typedef struct {
    uv_poll_t poll;
    curl_socket_t fd;
    notify_http *http;
} s_socket;

struct s_transfer {
    notify_http *http;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    notify_http_cb cb;
    void *ud;
    uint64_t started_ns;
    char excerpt[NOTIFY_HTTP_EXCERPT + 1];
    size_t excerpt_len;
    int retry_after_s;
    bool refused_address;
    char error[CURL_ERROR_SIZE];
    s_transfer *prev, *next;
};

static void s_check_done(notify_http *http);

static void s_transfer_free(s_transfer *t)
{
    notify_http *http = t->http;
    if (t->prev)
        t->prev->next = t->next;
    else if (http->transfers == t)
        http->transfers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    curl_multi_remove_handle(http->multi, t->easy);
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    free(t->body);
    free(t);
    http->in_flight--;
}

static void s_maybe_free(notify_http *http)
{
    if (http->closing && http->handles_open == 0) {
        free(http);
    }
}

static void s_on_handle_closed(uv_handle_t *handle)
{
    notify_http *http;
    if (handle->type == UV_POLL) {
        s_socket *s = handle->data;
        http = s->http;
        free(s);
    } else {
        http = handle->data;
    }
    http->handles_open--;
    s_maybe_free(http);
}

static void s_on_poll(uv_poll_t *poll, int status, int events)
{
    s_socket *s = poll->data;
    notify_http *http = s->http;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (status == 0 && (events & UV_READABLE))
        flags |= CURL_CSELECT_IN;
    if (status == 0 && (events & UV_WRITABLE))
        flags |= CURL_CSELECT_OUT;
    int running = 0;
    curl_multi_socket_action(http->multi, s->fd, flags, &running);
    s_check_done(http);
}

static int s_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    notify_http *http = userp;
    s_socket *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            uv_poll_stop(&s->poll);
            if (!http->closing)
                curl_multi_assign(http->multi, fd, NULL);
            uv_close((uv_handle_t *)&s->poll, s_on_handle_closed);
        }
        return 0;
    }
    if (http->closing)
        return 0;
    if (s == NULL) {
        s = xcalloc(1, sizeof *s);
        s->fd = fd;
        s->http = http;
        if (uv_poll_init_socket(http->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        http->handles_open++;
        curl_multi_assign(http->multi, fd, s);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, s_on_poll);
    return 0;
}

static void s_on_timer(uv_timer_t *timer)
{
    notify_http *http = timer->data;
    int running = 0;
    curl_multi_socket_action(http->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    s_check_done(http);
}

/* curl's timer callback: only (re)arms the uv timer; a 0 timeout fires on the next loop turn. */
static int s_on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    notify_http *http = userp;
    if (http->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&http->timer);
    else
        uv_timer_start(&http->timer, s_on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static void s_check_done(notify_http *http)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(http->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        s_transfer *t = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        if (t == NULL)
            continue;
        notify_http_result r = {0};
        long code = 0;
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
        r.duration_ms = (int64_t)((uv_hrtime() - t->started_ns) / 1000000u);
        char excerpt[NOTIFY_HTTP_EXCERPT + 1];
        memcpy(excerpt, t->excerpt, sizeof excerpt);
        r.excerpt = excerpt; /* t is freed before cb */
        r.retry_after_s = t->retry_after_s;
        char error[400];
        if (msg->data.result == CURLE_OK && code > 0) {
            r.status = (int)code;
        } else {
            r.status = 0;
            if (t->refused_address)
                snprintf(error, sizeof error, "Адрес получателя — частная или локальная сеть: доставка запрещена");
            else if (msg->data.result == CURLE_OPERATION_TIMEDOUT)
                snprintf(error, sizeof error, "Получатель не ответил за %u с", http->timeout_ms / 1000);
            else
                snprintf(error, sizeof error, "Нет ответа получателя: %s",
                         t->error[0] ? t->error : curl_easy_strerror(msg->data.result));
            r.error = error;
        }
        notify_http_cb cb = t->cb;
        void *ud = t->ud;
        s_transfer_free(t);
        cb(&r, ud);
    }
}

static size_t s_on_write(char *data, size_t size, size_t n, void *ud)
{
    s_transfer *t = ud;
    size_t len = size * n;
    size_t room = NOTIFY_HTTP_EXCERPT - t->excerpt_len;
    size_t take = len < room ? len : room;
    memcpy(t->excerpt + t->excerpt_len, data, take);
    t->excerpt_len += take;
    t->excerpt[t->excerpt_len] = '\0';
    return len; /* the rest is read and dropped */
}

static size_t s_on_header(char *data, size_t size, size_t n, void *ud)
{
    s_transfer *t = ud;
    size_t len = size * n;
    if (len > 12 && strncasecmp(data, "retry-after:", 12) == 0) {
        char value[64];
        size_t vlen = len - 12 < sizeof value - 1 ? len - 12 : sizeof value - 1;
        memcpy(value, data + 12, vlen);
        value[vlen] = '\0';
        char *p = value;
        while (*p == ' ' || *p == '\t')
            p++;
        p[strcspn(p, "\r\n")] = '\0';
        char *end = NULL;
        long seconds = strtol(p, &end, 10);
        if (end != p && *end == '\0' && seconds > 0) {
            t->retry_after_s = seconds > 86400 ? 86400 : (int)seconds;
        } else {
            time_t when = curl_getdate(p, NULL);
            time_t now = time(NULL);
            if (when > now)
                t->retry_after_s = when - now > 86400 ? 86400 : (int)(when - now);
        }
    }
    return len;
}

/* The resolved address is checked here, just before the connection is opened. */
static curl_socket_t s_on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *address)
{
    s_transfer *t = ud;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    if (!t->http->allow_private && notify_address_private(&address->addr)) {
        t->refused_address = true;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

notify_http *notify_http_new(uv_loop_t *loop, bool allow_private, uint32_t timeout_ms)
{
    notify_http *http = xcalloc(1, sizeof *http);
    http->loop = loop;
    http->allow_private = allow_private;
    http->timeout_ms = timeout_ms ? timeout_ms : 15000;
    http->multi = curl_multi_init();
    if (http->multi == NULL) {
        free(http);
        return NULL;
    }
    uv_timer_init(loop, &http->timer);
    http->timer.data = http;
    http->handles_open = 1;
    curl_multi_setopt(http->multi, CURLMOPT_SOCKETFUNCTION, s_on_socket);
    curl_multi_setopt(http->multi, CURLMOPT_SOCKETDATA, http);
    curl_multi_setopt(http->multi, CURLMOPT_TIMERFUNCTION, s_on_curl_timer);
    curl_multi_setopt(http->multi, CURLMOPT_TIMERDATA, http);
    curl_multi_setopt(http->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 256L);
    return http;
}

int notify_http_post(notify_http *http, const char *url, const char *const *headers, size_t n_headers, const char *body,
                     size_t body_len, notify_http_cb cb, void *ud)
{
    if (http->closing)
        return -1;
    s_transfer *t = xcalloc(1, sizeof *t);
    t->http = http;
    t->cb = cb;
    t->ud = ud;
    t->easy = curl_easy_init();
    t->body = xmalloc(body_len + 1);
    memcpy(t->body, body, body_len);
    t->body[body_len] = '\0';
    if (t->easy == NULL) {
        free(t->body);
        free(t);
        return -1;
    }
    for (size_t i = 0; i < n_headers; i++)
        t->headers = curl_slist_append(t->headers, headers[i]);
    t->headers = curl_slist_append(t->headers, "Expect:"); /* no 100-continue round trip */
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "metodnet-notify/1 (Standard Webhooks)");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)http->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)http->timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, s_on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    t->started_ns = uv_hrtime();
    t->next = http->transfers;
    if (http->transfers)
        http->transfers->prev = t;
    http->transfers = t;
    http->in_flight++;
    if (curl_multi_add_handle(http->multi, e) != CURLM_OK) {
        s_transfer_free(t);
        return -1;
    }
    return 0;
}

size_t notify_http_in_flight(const notify_http *http)
{
    return http->in_flight;
}

void notify_http_destroy(notify_http **httpp)
{
    if (httpp == NULL || *httpp == NULL)
        return;
    notify_http *http = *httpp;
    *httpp = NULL;
    http->closing = true;
    while (http->transfers) {
        s_transfer *t = http->transfers;
        notify_http_cb cb = t->cb;
        void *ud = t->ud;
        s_transfer_free(t);
        notify_http_result r = {.aborted = true, .error = "Служба останавливается", .excerpt = ""};
        cb(&r, ud);
    }
    /* closes the cached connections: their sockets come back as CURL_POLL_REMOVE and are uv_close()d */
    curl_multi_cleanup(http->multi);
    http->multi = NULL;
    uv_timer_stop(&http->timer);
    uv_close((uv_handle_t *)&http->timer, s_on_handle_closed);
}
