/* sse — the notification feed as Server-Sent Events.
 *
 * How a stream follows the feed: the gateway does not hold a request in the notify service per open
 * stream (a worker serves one request at a time, and hundreds of streams would hold hundreds). Instead
 * one timer of the gateway (every METODNET_SSE_POLL_MS, 500 ms) asks the notify service for the newest
 * feed position of every region (GetNotificationHeads, one call for all streams), and only a stream
 * whose cursor is behind its region's head asks for its next page (ListNotifications after its cursor,
 * as its caller, so the service applies the caller's scope exactly as for the pull feed). An idle
 * stream costs nothing but a keep-alive comment every 15 s. Each record goes out as
 *   id: <cursor>\nevent: <type>\ndata: <the record's JSON>\n\n
 * with the feed's cursor as the event id, so Last-Event-ID (or ?after=) resumes right after the last
 * record received; without either the stream starts at the current head ("$").
 *
 * Writing: at most one h2o_send in flight per stream; the next chunk waits for h2o's proceed callback
 * (what arrives meanwhile is buffered; a client that lets more than 4 MiB pile up is disconnected and
 * resumes with Last-Event-ID). A stream lives until h2o disposes its request (the pool's dispose hook
 * frees it); the client going away cancels the service call in flight. */
#include "sse.h"

#include "http_internal.h"
#include "notify.pb-c.h"
#include "notify_service.pb-c.h"

#define S_PAGE       100
#define S_BUFFER_MAX (4u * 1024 * 1024)
#define S_CALL_MS    5000u

typedef struct s_stream s_stream;

struct gateway_sse {
    gateway_http *http;
    uv_timer_t *timer;
    s_stream *streams;
    size_t count;
    mdp_pending *heads_pending;
    Metodnet__NotificationHeadsResponse *heads;
    uint32_t keepalive_ms, poll_ms;
    bool stopping;
};

struct s_stream {
    h2o_generator_t gen; /* first: h2o hands it back to proceed/stop */
    gateway_sse *sse;
    h2o_req_t *req; /* NULL once disposed */
    gateway_auth_wait *auth_wait;
    mdp_pending *pending;
    Metodnet__Principal *caller;
    char request_id[72];
    char region[8];
    char cursor[48]; /* "" until the first answer: then the feed position after the last record sent */
    char after[48];  /* the first request's after: Last-Event-ID, ?after= or "$" */
    bool started, sending, ending, ended, client_gone, want_poll;
    uint64_t last_write_ms, retry_at_ms;
    char *out, *inflight;
    size_t out_len, out_cap;
    uint64_t started_ns;
    s_stream *prev, *next;
};

static void s_flush(s_stream *s);

static void s_unlink(s_stream *s)
{
    gateway_sse *sse = s->sse;
    if (s->prev)
        s->prev->next = s->next;
    else if (sse->streams == s)
        sse->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    sse->count--;
}

static void s_on_dispose(void *p)
{
    s_stream *s = *(s_stream **)p;
    s->req = NULL;
    if (s->auth_wait)
        gateway_auth_cancel(s->auth_wait);
    if (s->pending)
        mdp_broker_cancel(s->pending);
    if (s->sse)
        s_unlink(s);
    if (s->caller)
        protobuf_c_message_free_unpacked(&s->caller->base, NULL);
    free(s->out);
    free(s->inflight);
    free(s);
}

static bool s_can_write(const s_stream *s)
{
    return s->req != NULL && s->started && !s->ended && !s->client_gone;
}

static void s_write(s_stream *s, const char *data, size_t len)
{
    if (!s_can_write(s) || s->ending)
        return;
    if (s->out_len + len > S_BUFFER_MAX) {
        log_warn(s->request_id, "поток уведомлений: клиент не успевает читать, соединение закрывается");
        s->ending = true;
        s_flush(s);
        return;
    }
    if (s->out_len + len > s->out_cap) {
        size_t cap = s->out_cap ? s->out_cap : 4096;
        while (cap < s->out_len + len)
            cap *= 2;
        char *grown = realloc(s->out, cap);
        if (grown == NULL)
            return;
        s->out = grown;
        s->out_cap = cap;
    }
    memcpy(s->out + s->out_len, data, len);
    s->out_len += len;
    if (s->sse)
        s->last_write_ms = uv_now(s->sse->http->loop);
}

static void s_flush(s_stream *s)
{
    if (!s_can_write(s) || s->sending)
        return;
    if (s->out_len == 0) {
        if (s->ending) {
            s->ended = true;
            h2o_send(s->req, NULL, 0, H2O_SEND_STATE_FINAL);
        }
        return;
    }
    free(s->inflight);
    s->inflight = s->out;
    h2o_iovec_t buf = h2o_iovec_init(s->inflight, s->out_len);
    s->out = NULL;
    s->out_len = s->out_cap = 0;
    s->sending = true;
    h2o_send(s->req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void s_on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    s_stream *s = (s_stream *)gen;
    s->sending = false;
    free(s->inflight);
    s->inflight = NULL;
    s_flush(s);
}

static void s_on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    s_stream *s = (s_stream *)gen;
    s->client_gone = true;
    if (s->pending) {
        mdp_broker_cancel(s->pending);
        s->pending = NULL;
    }
}

static void s_end(s_stream *s)
{
    s->ending = true;
    s_flush(s);
}

/* ---- the feed ---- */

/* Stream ids "<ms>-<seq>": a > b. */
static bool s_after(const char *a, const char *b)
{
    unsigned long long am = 0, as = 0, bm = 0, bs = 0;
    if (sscanf(a, "%llu-%llu", &am, &as) != 2)
        return false;
    if (sscanf(b, "%llu-%llu", &bm, &bs) != 2)
        return true; /* b "" : anything is newer */
    return am > bm || (am == bm && as > bs);
}

static void s_poll(s_stream *s);

static void s_send_error(s_stream *s, const char *message)
{
    json_t *doc = json_pack("{s:s}", "message", message ? message : "Ошибка");
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    char head[] = "event: error\ndata: ";
    s_write(s, head, sizeof head - 1);
    if (text)
        s_write(s, text, strlen(text));
    s_write(s, "\n\n", 2);
    free(text);
    s_end(s);
}

static void s_on_page(int result, const uint8_t *body, size_t len, void *ud)
{
    s_stream *s = ud;
    s->pending = NULL;
    uint64_t now = uv_now(s->sse->http->loop);
    Metodnet__Reply *reply = result == MDP_OK ? metodnet__reply__unpack(NULL, len, body) : NULL;
    int code = reply == NULL ? -1 : reply->status ? (int)reply->status->code : METODNET__STATUS_CODE__STATUS_CODE_OK;
    if (code != METODNET__STATUS_CODE__STATUS_CODE_OK) {
        if (code == METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT ||
            code == METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED ||
            code == METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED) {
            s_send_error(s, reply->status->n_violations ? reply->status->violations[0]->description
                                                        : reply->status->message);
        } else {
            s->want_poll = true; /* the service is away: again in a second */
            s->retry_at_ms = now + 1000;
        }
        if (reply)
            metodnet__reply__free_unpacked(reply, NULL);
        return;
    }
    Metodnet__ListNotificationsResponse *page =
        metodnet__list_notifications_response__unpack(NULL, reply->payload.len, reply->payload.data);
    metodnet__reply__free_unpacked(reply, NULL);
    if (page == NULL) {
        s->want_poll = true;
        s->retry_at_ms = now + 1000;
        return;
    }
    for (size_t i = 0; i < page->n_items; i++) {
        const Metodnet__Notification *n = page->items[i];
        size_t json_len = 0;
        char *json = pbjson_encode(&n->base, &json_len);
        if (json == NULL)
            continue;
        char head[160];
        int head_len = snprintf(head, sizeof head, "id: %s\nevent: %s\ndata: ", n->cursor ? n->cursor : "",
                                n->type ? n->type : "notification");
        s_write(s, head, (size_t)head_len);
        s_write(s, json, json_len);
        s_write(s, "\n\n", 2);
        free(json);
    }
    if (page->next_cursor && *page->next_cursor)
        snprintf(s->cursor, sizeof s->cursor, "%s", page->next_cursor);
    else if (!s->cursor[0])
        snprintf(s->cursor, sizeof s->cursor, "0-0"); /* an empty feed */
    s->want_poll = page->n_items == S_PAGE;
    metodnet__list_notifications_response__free_unpacked(page, NULL);
    s_flush(s);
    if (s->want_poll)
        s_poll(s);
}

static void s_poll(s_stream *s)
{
    gateway_http *http = s->sse->http;
    if (s->pending || !s_can_write(s) || s->ending || http->broker == NULL)
        return;
    s->want_poll = false;
    Metodnet__ListNotificationsRequest req = METODNET__LIST_NOTIFICATIONS_REQUEST__INIT;
    req.after = s->cursor[0] ? s->cursor : s->after;
    if (strcmp(req.after, "0-0") == 0)
        req.after = "";
    req.limit = S_PAGE;
    request_envelope env = {
        .method = "ListNotifications",
        .message = &req.base,
        .caller = s->caller,
        .request_id = s->request_id,
        .timeout_ms = S_CALL_MS,
    };
    size_t len = 0;
    uint8_t *packed = request_envelope_pack(&env, &len);
    if (packed == NULL)
        return;
    s->pending = mdp_broker_request(http->broker, "notify", packed, len, S_CALL_MS, s_on_page, s);
    free(packed);
}

/* ---- the hub: heads, polls, keep-alives ---- */

static void s_on_heads(int result, const uint8_t *body, size_t len, void *ud)
{
    gateway_sse *sse = ud;
    sse->heads_pending = NULL;
    Metodnet__Reply *reply = result == MDP_OK ? metodnet__reply__unpack(NULL, len, body) : NULL;
    if (reply == NULL || (reply->status && reply->status->code != METODNET__STATUS_CODE__STATUS_CODE_OK)) {
        if (reply)
            metodnet__reply__free_unpacked(reply, NULL);
        return;
    }
    Metodnet__NotificationHeadsResponse *heads =
        metodnet__notification_heads_response__unpack(NULL, reply->payload.len, reply->payload.data);
    metodnet__reply__free_unpacked(reply, NULL);
    if (heads == NULL)
        return;
    if (sse->heads)
        metodnet__notification_heads_response__free_unpacked(sse->heads, NULL);
    sse->heads = heads;
    for (s_stream *s = sse->streams; s; s = s->next) {
        if (!s->cursor[0])
            continue; /* its first page is on its way */
        for (size_t i = 0; i < heads->n_heads; i++)
            if (heads->heads[i]->region_id && strcmp(heads->heads[i]->region_id, s->region) == 0 &&
                heads->heads[i]->cursor && s_after(heads->heads[i]->cursor, s->cursor))
                s_poll(s);
    }
}

static void s_on_tick(uv_timer_t *timer)
{
    gateway_sse *sse = timer->data;
    gateway_http *http = sse->http;
    if (sse->count == 0 || http->broker == NULL || sse->stopping)
        return;
    uint64_t now = uv_now(http->loop);
    for (s_stream *s = sse->streams; s; s = s->next) {
        if (!s_can_write(s))
            continue;
        if (s->want_poll && now >= s->retry_at_ms)
            s_poll(s);
        if (now - s->last_write_ms >= sse->keepalive_ms) {
            static const char ping[] = ": keep-alive\n\n";
            s_write(s, ping, sizeof ping - 1);
            s_flush(s);
        }
    }
    if (sse->heads_pending == NULL) {
        Metodnet__NotificationHeadsRequest req = METODNET__NOTIFICATION_HEADS_REQUEST__INIT;
        request_envelope env = {
            .method = "GetNotificationHeads",
            .message = &req.base,
            .caller = gateway_auth_gateway_principal(),
            .request_id = "gateway-sse",
            .timeout_ms = S_CALL_MS,
        };
        size_t len = 0;
        uint8_t *packed = request_envelope_pack(&env, &len);
        if (packed != NULL) {
            sse->heads_pending = mdp_broker_request(http->broker, "notify", packed, len, S_CALL_MS, s_on_heads, sse);
            free(packed);
        }
    }
}

/* ---- a new stream ---- */

static void s_on_authenticated(gateway_auth_result result, const Metodnet__Principal *principal,
                               uint32_t retry_after_seconds, void *ud)
{
    s_stream *s = ud;
    s->auth_wait = NULL;
    gateway_http *http = s->sse->http;
    h2o_req_t *req = s->req;
    const char *label = "GET /api/v1/notifications/stream";
    if (result != GATEWAY_AUTH_OK) {
        int status = result == GATEWAY_AUTH_RATE_LIMITED ? 429 : result == GATEWAY_AUTH_UNAVAILABLE ? 503 : 401;
        http_extra extra = {.retry_after = (int)retry_after_seconds};
        gateway_http_send_error(
            http, req, label, s->request_id, s->started_ns, status, NULL,
            status == 401   ? "Требуется вход в систему или API-ключ: заголовок Authorization (или cookie сеанса консоли)"
            : status == 429 ? "Слишком много запросов, повторите позже"
                            : HTTP_UNAVAILABLE_MESSAGE,
            NULL, 0, status == 429 ? &extra : NULL);
        return;
    }
    if (principal->region_id == NULL || strlen(principal->region_id) != 2) {
        gateway_http_send_error(http, req, label, s->request_id, s->started_ns, 400, "invalid_argument",
                                "Поток уведомлений доступен пользователям и ключам региона", NULL, 0, NULL);
        return;
    }
    s->caller = (Metodnet__Principal *)pbfield_clone(&principal->base);
    snprintf(s->region, sizeof s->region, "%s", principal->region_id);
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/event-stream; charset=utf-8"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-accel-buffering"), 0, NULL, H2O_STRLIT("no"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL,
                          h2o_strdup(&req->pool, s->request_id, SIZE_MAX).base, strlen(s->request_id));
    s->gen.proceed = s_on_proceed;
    s->gen.stop = s_on_stop;
    h2o_start_response(req, &s->gen);
    s->started = true;
    static const char hello[] = "retry: 3000\n: metodnet notifications\n\n";
    s_write(s, hello, sizeof hello - 1);
    s_flush(s);
    log_info(s->request_id, "поток уведомлений открыт (регион %s, с %s)", s->region, s->after);
    s_poll(s);
}

static bool s_cursor_ok(const char *c)
{
    unsigned long long a, b;
    char tail;
    return strcmp(c, "$") == 0 || sscanf(c, "%llu-%llu%c", &a, &b, &tail) == 2;
}

void gateway_sse_handle(gateway_sse *sse, h2o_req_t *req, const route_match *m, const char *request_id,
                        uint64_t started_ns, const char *query, size_t query_len)
{
    gateway_http *http = sse->http;
    const char *label = "GET /api/v1/notifications/stream";
    routes_error err;
    ProtobufCMessage *msg = routes_build_request(m, query, query_len, NULL, 0, NULL, 0, &err);
    if (msg == NULL) {
        api_error_detail d = {err.field, err.description};
        gateway_http_send_error(http, req, label, request_id, started_ns, 400, "invalid_argument", err.description, &d,
                                1, NULL);
        return;
    }
    const Metodnet__ListNotificationsRequest *lr = (const Metodnet__ListNotificationsRequest *)msg;
    char after[48] = "$";
    const h2o_iovec_t *last = NULL;
    ssize_t at = h2o_find_header_by_str(&req->headers, H2O_STRLIT("last-event-id"), -1);
    if (at != -1)
        last = &req->headers.entries[at].value;
    if (last && last->len > 0 && last->len < sizeof after)
        snprintf(after, sizeof after, "%.*s", (int)last->len, last->base);
    else if (lr->after && *lr->after && strlen(lr->after) < sizeof after)
        snprintf(after, sizeof after, "%s", lr->after);
    protobuf_c_message_free_unpacked(msg, NULL);
    if (!s_cursor_ok(after)) {
        api_error_detail d = {"Last-Event-ID", "Курсор ленты, например «1764640000000-0», или «$»"};
        gateway_http_send_error(http, req, label, request_id, started_ns, 400, "invalid_argument",
                                "Некорректный Last-Event-ID (или after)", &d, 1, NULL);
        return;
    }
    if (sse->stopping || http->auth == NULL || http->broker == NULL) {
        gateway_http_send_error(http, req, label, request_id, started_ns, 503, "unavailable", HTTP_UNAVAILABLE_MESSAGE,
                                NULL, 0, NULL);
        return;
    }
    s_stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        gateway_http_send_error(http, req, label, request_id, started_ns, 500, "internal", "Недостаточно памяти", NULL,
                                0, NULL);
        return;
    }
    s_stream **slot = h2o_mem_alloc_shared(&req->pool, sizeof *slot, s_on_dispose);
    *slot = s;
    s->sse = sse;
    s->req = req;
    s->started_ns = started_ns;
    snprintf(s->request_id, sizeof s->request_id, "%s", request_id);
    snprintf(s->after, sizeof s->after, "%s", after);
    s->next = sse->streams;
    if (sse->streams)
        sse->streams->prev = s;
    sse->streams = s;
    sse->count++;
    const h2o_iovec_t *authorization = gateway_http_header(req, H2O_TOKEN_AUTHORIZATION);
    h2o_iovec_t from_cookie;
    const h2o_iovec_t *cookie = gateway_http_header(req, H2O_TOKEN_COOKIE);
    const char *token;
    size_t token_len;
    /* the browser session (auth.h): without Authorization the session cookie stands for the bearer token;
     * a GET, so no X-Metodnet-CSRF; the caller's scope is decided by the auth service as for Bearer */
    if (authorization == NULL && cookie != NULL &&
        gateway_auth_cookie(cookie->base, cookie->len, &token, &token_len) == 0) {
        char *bearer = h2o_mem_alloc_pool(&req->pool, token_len + 7);
        memcpy(bearer, "Bearer ", 7);
        memcpy(bearer + 7, token, token_len);
        from_cookie = h2o_iovec_init(bearer, token_len + 7);
        authorization = &from_cookie;
    }
    s->auth_wait = gateway_auth_check(http->auth, authorization ? authorization->base : NULL,
                                      authorization ? authorization->len : 0, request_id, s_on_authenticated, s);
    if (s->auth_wait == NULL)
        gateway_http_send_error(http, req, label, request_id, started_ns, 500, "internal", "Недостаточно памяти", NULL,
                                0, NULL);
}

/* ---- lifetime ---- */

static uint32_t s_env_ms(const char *name, uint32_t fallback)
{
    const char *v = getenv(name);
    long x = v ? strtol(v, NULL, 10) : 0;
    return x > 0 && x < 3600000 ? (uint32_t)x : fallback;
}

static void s_free_handle(uv_handle_t *h)
{
    free(h);
}

gateway_sse *gateway_sse_new(gateway_http *http)
{
    gateway_sse *sse = calloc(1, sizeof *sse);
    if (sse == NULL)
        return NULL;
    sse->http = http;
    sse->keepalive_ms = s_env_ms("METODNET_SSE_KEEPALIVE_MS", 15000);
    sse->poll_ms = s_env_ms("METODNET_SSE_POLL_MS", 500);
    sse->timer = calloc(1, sizeof *sse->timer);
    if (sse->timer == NULL) {
        free(sse);
        return NULL;
    }
    uv_timer_init(http->loop, sse->timer);
    sse->timer->data = sse;
    uv_timer_start(sse->timer, s_on_tick, sse->poll_ms, sse->poll_ms);
    return sse;
}

size_t gateway_sse_count(const gateway_sse *sse)
{
    return sse ? sse->count : 0;
}

void gateway_sse_stop(gateway_sse *sse)
{
    if (sse == NULL || sse->stopping)
        return;
    sse->stopping = true;
    if (sse->heads_pending) {
        mdp_broker_cancel(sse->heads_pending);
        sse->heads_pending = NULL;
    }
    for (s_stream *s = sse->streams; s; s = s->next) {
        if (s->pending) {
            mdp_broker_cancel(s->pending);
            s->pending = NULL;
        }
        if (s->auth_wait == NULL)
            s_end(s);
    }
    uv_timer_stop(sse->timer);
}

void gateway_sse_destroy(gateway_sse **ssep)
{
    if (ssep == NULL || *ssep == NULL)
        return;
    gateway_sse *sse = *ssep;
    *ssep = NULL;
    gateway_sse_stop(sse);
    uv_close((uv_handle_t *)sse->timer, s_free_handle);
    if (sse->heads)
        metodnet__notification_heads_response__free_unpacked(sse->heads, NULL);
    /* streams still open are freed by their requests' pools; they no longer reach the hub */
    for (s_stream *s = sse->streams; s; s = s->next)
        s->sse = NULL;
    free(sse);
}
