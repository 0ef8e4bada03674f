/* http_call — the calls from HTTP to the services: their lifetime (references held by the request
 * pool and by outstanding callbacks), errors, idempotency, submitting to the broker, the deadline
 * guard, and decoding and authenticating API requests before the call. */
#include "http_internal.h"

#include <netinet/in.h>
#include "validate.h"

/* ---- calls ---- */

void gateway_http_call_unlink(http_call *call)
{
    gateway_http *http = call->http;
    if (call->prev != NULL)
        call->prev->next = call->next;
    else if (http->calls == call)
        http->calls = call->next;
    if (call->next != NULL)
        call->next->prev = call->prev;
    call->prev = call->next = NULL;
}

/* Drops n references; the last one frees the call. */
static void s_call_release(http_call *call, unsigned n)
{
    call->refs -= n;
    if (call->refs > 0)
        return;
    free(call->path);
    free(call->envelope);
    free(call->idempotency_key);
    free(call->idem_value);
    if (call->set_cookie) { /* a login's holds the session token */
        sodium_memzero(call->set_cookie, strlen(call->set_cookie));
        free(call->set_cookie);
    }
    if (call->token) {
        memset(call->token, 0, strlen(call->token));
        free(call->token);
    }
    if (call->msg)
        protobuf_c_message_free_unpacked(call->msg, NULL);
    free(call);
}

void gateway_http_call_unref(http_call *call)
{
    s_call_release(call, 1);
}

static void s_on_req_dispose(void *p)
{
    http_call *call = *(http_call **)p;
    unsigned released = 1; /* the request pool's own reference */
    call->req = NULL;
    if (call->auth_wait != NULL) {
        /* the client went away while we asked who it is */
        gateway_auth_cancel(call->auth_wait);
        call->auth_wait = NULL;
        released++;
    }
    if (call->pending != NULL && call->idempotency_key == NULL) {
        /* the client went away: nobody will read the reply */
        mdp_broker_cancel(call->pending);
        call->pending = NULL;
        gateway_http_call_unlink(call);
        released++;
    }
    s_call_release(call, released);
}

http_call *gateway_http_call_new(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id,
                                 uint64_t started_ns)
{
    http_call *call = calloc(1, sizeof *call);
    if (call == NULL)
        return NULL;
    http_call **slot = h2o_mem_alloc_shared(&req->pool, sizeof *slot, s_on_req_dispose);
    *slot = call;
    call->http = http;
    call->req = req;
    call->refs = 1; /* the request pool's reference */
    text_copy(call->label, sizeof call->label, label, strlen(label));
    text_copy(call->request_id, sizeof call->request_id, request_id, strlen(request_id));
    call->started_ns = started_ns;
    return call;
}

static void s_call_error(http_call *call, int status, const char *code, const char *message,
                         const api_error_detail *details, size_t n)
{
    if (call->req == NULL || call->responded)
        return;
    call->responded = true;
    http_extra extra = {NULL, NULL, NULL, false, call->retry_after, NULL, call->set_cookie};
    gateway_http_send_error(call->http, call->req, call->label, call->request_id, call->started_ns, status, code,
                            message, details, n, &extra);
}

/* Ends the idempotency record of call with the outcome (stored or deleted). */
void gateway_http_idempotency_finish(http_call *call, int status, const char *body, size_t len, const char *etag,
                                     const char *location)
{
    if (call->idempotency_key == NULL || call->http->idempotency == NULL)
        return;
    idempotency_reply reply = {status, body, len, etag ? etag : "", location ? location : ""};
    idempotency_complete(call->http->idempotency, call->idempotency_key, call->fingerprint, &reply);
}

void gateway_http_finish_error(http_call *call, int status, const char *code, const char *message,
                               const api_error_detail *details, size_t n)
{
    if (call->idempotency_key != NULL) {
        size_t len = 0;
        char *body =
            api_error_json(code ? code : api_error_code_for_http(status), message, details, n, call->request_id, &len);
        gateway_http_idempotency_finish(call, status, body, len, NULL, NULL);
        free(body);
    }
    s_call_error(call, status, code, message, details, n);
}
static void s_submit(http_call *call)
{
    gateway_http *http = call->http;
    if (http->broker == NULL) {
        gateway_http_finish_error(call, 503, "unavailable", HTTP_UNAVAILABLE_MESSAGE, NULL, 0);
        return;
    }
    call->pending = mdp_broker_request(http->broker, call->route->service, call->envelope, call->envelope_len,
                                       call->timeout_ms, gateway_http_on_reply, call);
    if (call->pending == NULL) {
        gateway_http_finish_error(call, 500, "internal", "Внутренняя ошибка шлюза", NULL, 0);
        return;
    }
    call->refs++;
    call->guard_ns = uv_hrtime() + (uint64_t)(call->timeout_ms + HTTP_GUARD_MS) * 1000000u;
    call->next = http->calls;
    if (http->calls)
        http->calls->prev = call;
    http->calls = call;
}

static void s_on_idempotency(idempotency_outcome outcome, const idempotency_reply *stored, void *ud)
{
    http_call *call = ud;
    if (call->req == NULL) {
        /* the client left before the key was checked: free the key we may have taken */
        if (outcome == IDEMPOTENCY_PROCEED)
            gateway_http_idempotency_finish(call, 0, NULL, 0, NULL, NULL);
        gateway_http_call_unref(call);
        return;
    }
    switch (outcome) {
    case IDEMPOTENCY_PROCEED:
        s_submit(call);
        break;
    case IDEMPOTENCY_REPLAY:
        if (!call->responded) {
            call->responded = true;
            http_extra extra = {stored->etag, stored->location, NULL, true, 0, NULL, NULL};
            gateway_http_send(call->http, call->req, call->label, call->request_id, call->started_ns, stored->status,
                              HTTP_JSON, stored->body, stored->body_len, &extra);
        }
        break;
    case IDEMPOTENCY_IN_PROGRESS:
        /* the first try is still running, or its gateway stopped before it could record the answer (the
         * record ends with the request's deadline + 5 s): the client retries the same request */
        call->retry_after = 1;
        s_call_error(call, 409, "conflict",
                     "Запрос с этим ключом идемпотентности ещё выполняется: повторите его с тем же ключом позже "
                     "(Retry-After)",
                     NULL, 0);
        break;
    case IDEMPOTENCY_MISMATCH:
        s_call_error(call, 422, "unprocessable", "Ключ идемпотентности уже использован с другим запросом", NULL, 0);
        break;
    case IDEMPOTENCY_UNAVAILABLE:
    default:
        s_call_error(call, 503, "unavailable", HTTP_UNAVAILABLE_MESSAGE, NULL, 0);
        break;
    }
    gateway_http_call_unref(call);
}

/* The HTTP-side deadline guard. */
void gateway_http_on_tick(uv_timer_t *timer)
{
    gateway_http *http = timer->data;
    uint64_t now = uv_hrtime();
    http_call *call = http->calls;
    while (call != NULL) {
        http_call *next = call->next;
        if (now >= call->guard_ns) {
            mdp_broker_cancel(call->pending);
            call->pending = NULL;
            gateway_http_call_unlink(call);
            log_warn(call->request_id, "брокер не ответил за %u мс + %d мс; запрос отменён", call->timeout_ms,
                     HTTP_GUARD_MS);
            gateway_http_finish_error(call, 504, "deadline_exceeded", "Служба не ответила вовремя", NULL, 0);
            gateway_http_call_unref(call);
        }
        call = next;
    }
}

/* ---- API requests ---- */

static bool s_is_content_type(const h2o_iovec_t *ct, const char *want)
{
    size_t n = strlen(want);
    if (ct == NULL || ct->len < n || !h2o_lcstris(ct->base, n, want, n))
        return false;
    return ct->len == n || ct->base[n] == ';' || ct->base[n] == ' ' || ct->base[n] == '\t';
}

static bool s_is_json_content_type(const h2o_iovec_t *ct)
{
    return s_is_content_type(ct, "application/json");
}

/* Whether two peers have the same host (the port aside). */
static bool s_same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr, &((const struct sockaddr_in *)b)->sin_addr,
                      sizeof(struct in_addr)) == 0;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
                      sizeof(struct in6_addr)) == 0 &&
               ((const struct sockaddr_in6 *)a)->sin6_scope_id == ((const struct sockaddr_in6 *)b)->sin6_scope_id;
    return false;
}

/* The peer's address as text for the envelope (the audit trail's client address). The text of the last
 * host is kept: a client's requests come from one host, and turning an address into text is the
 * dearest step of a small request. */
static void s_client_address(h2o_req_t *req, char *out, size_t size)
{
    static _Thread_local struct sockaddr_storage last;
    static _Thread_local char last_text[INET6_ADDRSTRLEN + 1];
    struct sockaddr_storage ss;
    char host[1025];
    out[0] = '\0';
    if (req->conn == NULL || req->conn->callbacks == NULL || req->conn->callbacks->get_peername == NULL)
        return;
    memset(&ss, 0, sizeof ss);
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    if (len == 0)
        return;
    if (last_text[0] != '\0' && s_same_host(&ss, &last)) {
        text_copy(out, size, last_text, strlen(last_text));
        return;
    }
    size_t n = h2o_socket_getnumerichost((struct sockaddr *)&ss, len, host);
    if (n == SIZE_MAX)
        return;
    text_copy(out, size, host, n);
    if (n < sizeof last_text && (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
        last = ss;
        text_copy(last_text, sizeof last_text, host, n);
    }
}

/* Packs the Envelope around msg into call->envelope. */
static int s_build_envelope(http_call *call, const Metodnet__Principal *principal, const ProtobufCMessage *msg,
                            const char *idem_key, size_t idem_len)
{
    request_envelope request = {
        .method = call->route->rpc,
        .message = msg,
        .caller = principal,
        .request_id = call->request_id,
        .client_address = call->client_address,
        .idempotency_key = idem_key,
        .idempotency_key_end = idem_key ? idem_key + idem_len : NULL,
        .timeout_ms = call->timeout_ms,
    };
    call->envelope = request_envelope_pack(&request, &call->envelope_len);
    return call->envelope ? 0 : -1;
}

size_t gateway_http_header_bytes(const h2o_req_t *req)
{
    size_t total = req->input.path.len;
    for (size_t i = 0; i < req->headers.size; i++)
        total += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    return total;
}

/* The caller is known: build the envelope, then (with an Idempotency-Key) check the key, or submit. */
static void s_continue(http_call *call, const Metodnet__Principal *principal)
{
    gateway_http *http = call->http;
    if (call->route->flags & ROUTE_TOKEN) {
        if (call->token == NULL) {
            s_call_error(call, 401, "unauthenticated", "Требуется вход в систему", NULL, 0);
            return;
        }
        pbfield_set_string(call->msg, "token", call->token);
    }
    int rc =
        s_build_envelope(call, principal, call->msg, call->idem_value, call->idem_value ? strlen(call->idem_value) : 0);
    char *idempotency_key = NULL;
    if (rc == 0 && call->idem_value != NULL)
        idempotency_key = idempotency_redis_key(principal->user_id, call->idem_value, strlen(call->idem_value));
    /* Logout: the cached session is forgotten only now, since principal may be that very cache entry's
     * (forgetting it first freed the principal the envelope was built from); principal is not used
     * after this. */
    if ((call->route->flags & ROUTE_TOKEN) && http->auth)
        gateway_auth_forget(http->auth, call->token, strlen(call->token));
    protobuf_c_message_free_unpacked(call->msg, NULL);
    call->msg = NULL;
    if (rc != 0) {
        free(idempotency_key);
        s_call_error(call, 500, "internal", "Недостаточно памяти", NULL, 0);
        return;
    }
    if (call->idem_value == NULL) {
        s_submit(call);
        return;
    }
    if (http->idempotency == NULL) {
        free(idempotency_key);
        s_call_error(call, 503, "unavailable", HTTP_UNAVAILABLE_MESSAGE, NULL, 0);
        return;
    }
    call->idempotency_key = idempotency_key;
    call->refs++;
    if (call->idempotency_key == NULL ||
        idempotency_begin(http->idempotency, call->idempotency_key, call->fingerprint, s_on_idempotency, call) != 0) {
        call->refs--;
        free(call->idempotency_key);
        call->idempotency_key = NULL;
        s_call_error(call, 503, "unavailable", HTTP_UNAVAILABLE_MESSAGE, NULL, 0);
    }
}

/* The Set-Cookie value (auth.h) as an owned string, NULL when out of memory. */
static char *s_cookie(const char *token, size_t len)
{
    char buf[400];
    return gateway_auth_set_cookie(buf, sizeof buf, token, len) ? strdup(buf) : NULL;
}

void gateway_http_session_cookie(http_call *call, ProtobufCMessage *response)
{
    const char *token = pbfield_string(response, "token");
    if (token == NULL || token[0] == '\0')
        return;
    free(call->set_cookie);
    call->set_cookie = s_cookie(token, strlen(token));
    if (call->set_cookie != NULL)
        pbfield_set_string(response, "token", ""); /* the page's script never sees the token */
}

/* The browser session (auth.h): without Authorization the session cookie stands for the bearer token,
 * unsafe methods only with X-Metodnet-CSRF; a public route (login) with that header answers the token
 * as a cookie; logout by the cookie clears it. -1 when the request was refused (and answered). */
static int s_browser_session(http_call *call, h2o_req_t *req, const h2o_iovec_t **authorization,
                             h2o_iovec_t *from_cookie)
{
    const route *r = call->route;
    bool csrf = h2o_find_header_by_str(&req->headers, H2O_STRLIT(GATEWAY_AUTH_CSRF_HEADER), -1) != -1;
    if (r->flags & ROUTE_PUBLIC) {
        call->session_start = csrf;
        return 0;
    }
    const h2o_iovec_t *cookie = gateway_http_header(req, H2O_TOKEN_COOKIE);
    const char *token;
    size_t len;
    if (*authorization != NULL || cookie == NULL || gateway_auth_cookie(cookie->base, cookie->len, &token, &len) != 0)
        return 0; /* Authorization decides alone, as for every API client */
    if (!csrf && !gateway_auth_method_is_safe(req->method.base, req->method.len)) {
        api_error_detail d = {"X-Metodnet-CSRF", "Обязателен при входе через cookie для POST, PATCH и DELETE"};
        s_call_error(call, 403, "permission_denied",
                     "Запрос с cookie сеанса без заголовка X-Metodnet-CSRF отклонён (защита от подделки запросов)", &d,
                     1);
        return -1;
    }
    char *bearer = h2o_mem_alloc_pool(&req->pool, len + 7);
    memcpy(bearer, "Bearer ", 7);
    memcpy(bearer + 7, token, len);
    *from_cookie = h2o_iovec_init(bearer, len + 7);
    *authorization = from_cookie;
    call->by_cookie = true;
    if (r->flags & ROUTE_TOKEN)
        call->set_cookie = s_cookie(NULL, 0); /* logout */
    return 0;
}

static void s_on_authenticated(gateway_auth_result result, const Metodnet__Principal *principal,
                               uint32_t retry_after_seconds, void *ud)
{
    http_call *call = ud;
    call->auth_wait = NULL;
    if (call->req == NULL) {
        gateway_http_call_unref(call);
        return;
    }
    switch (result) {
    case GATEWAY_AUTH_OK:
        s_continue(call, principal);
        break;
    case GATEWAY_AUTH_MISSING:
        s_call_error(call, 401, "unauthenticated",
                     "Требуется вход в систему: передайте токен в заголовке Authorization: Bearer <токен>", NULL, 0);
        break;
    case GATEWAY_AUTH_INVALID:
        if (call->by_cookie && call->set_cookie == NULL)
            call->set_cookie = s_cookie(NULL, 0); /* the browser forgets the ended session */
        s_call_error(call, 401, "unauthenticated", "Сеанс истёк или ключ недействителен: войдите в систему заново",
                     NULL, 0);
        break;
    case GATEWAY_AUTH_RATE_LIMITED:
        call->retry_after = (int)retry_after_seconds;
        s_call_error(call, 429, "too_many_requests", "Слишком много запросов, повторите позже", NULL, 0);
        break;
    default:
        s_call_error(call, 503, "unavailable", HTTP_UNAVAILABLE_MESSAGE, NULL, 0);
        break;
    }
    gateway_http_call_unref(call);
}

void gateway_http_handle_api(gateway_http *http, h2o_req_t *req, const route_match *m, const char *request_id,
                             uint64_t started_ns, const char *path, size_t path_len, const char *query,
                             size_t query_len)
{
    const route *r = m->route;
    char label[112];
    size_t at = text_copy(label, sizeof label, r->method, strlen(r->method));
    if (at + 1 < sizeof label) {
        label[at++] = ' ';
        text_copy(label + at, sizeof label - at, r->path_template, strlen(r->path_template));
    }
    const char *body = req->entity.base;
    size_t body_len = req->entity.base ? req->entity.len : 0;
    if (r->flags & (ROUTE_BODY | ROUTE_CSV_IN)) {
        size_t limit = r->max_body_bytes ? r->max_body_bytes : http->options.max_body_bytes;
        if (body_len > limit) {
            char text[160];
            snprintf(text, sizeof text, "Тело запроса больше допустимого (%zu байт)", limit);
            gateway_http_send_error(http, req, label, request_id, started_ns, 413, NULL, text, NULL, 0, NULL);
            return;
        }
        if ((r->flags & ROUTE_CSV_IN) && body_len > 0 &&
            !s_is_content_type(gateway_http_header(req, H2O_TOKEN_CONTENT_TYPE), "text/csv")) {
            api_error_detail d = {"Content-Type", "Ожидается text/csv"};
            gateway_http_send_error(http, req, label, request_id, started_ns, 415, NULL,
                                    "Тело запроса должно быть файлом CSV (Content-Type: text/csv)", &d, 1, NULL);
            return;
        }
        if ((r->flags & ROUTE_BODY) && body_len > 0 &&
            !s_is_json_content_type(gateway_http_header(req, H2O_TOKEN_CONTENT_TYPE))) {
            api_error_detail d = {"Content-Type", "Ожидается application/json"};
            gateway_http_send_error(http, req, label, request_id, started_ns, 415, NULL,
                                    "Тело запроса должно быть в формате JSON (Content-Type: application/json)", &d, 1,
                                    NULL);
            return;
        }
    }
    const h2o_iovec_t *if_match = gateway_http_header(req, H2O_TOKEN_IF_MATCH);
    routes_error err;
    ProtobufCMessage *msg = routes_build_request(m, query, query_len, body, body_len, if_match ? if_match->base : NULL,
                                                 if_match ? if_match->len : 0, &err);
    if (msg == NULL) {
        api_error_detail d = {err.field, err.description};
        gateway_http_send_error(http, req, label, request_id, started_ns, 400, "invalid_argument", err.description, &d,
                                1, NULL);
        return;
    }
    ssize_t ik = h2o_find_header_by_str(&req->headers, H2O_STRLIT("idempotency-key"), -1);
    const h2o_iovec_t *idem = (ik != -1 && strcmp(r->method, "POST") == 0) ? &req->headers.entries[ik].value : NULL;
    if (idem != NULL && !idempotency_key_valid(idem->base, idem->len)) {
        protobuf_c_message_free_unpacked(msg, NULL);
        api_error_detail d = {"Idempotency-Key", "От 1 до 128 печатных символов ASCII"};
        gateway_http_send_error(http, req, label, request_id, started_ns, 400, "invalid_argument",
                                "Некорректный ключ идемпотентности", &d, 1, NULL);
        return;
    }
    http_call *call = gateway_http_call_new(http, req, label, request_id, started_ns);
    if (call == NULL) {
        protobuf_c_message_free_unpacked(msg, NULL);
        gateway_http_send_error(http, req, label, request_id, started_ns, 500, "internal", "Недостаточно памяти", NULL,
                                0, NULL);
        return;
    }
    call->route = r;
    call->timeout_ms = r->timeout_ms ? r->timeout_ms : http->options.request_timeout_ms;
    call->path = malloc(path_len + 1);
    if (call->path != NULL) {
        memcpy(call->path, path, path_len);
        while (path_len > 1 && call->path[path_len - 1] == '/')
            path_len--;
        call->path[path_len] = '\0';
    }
    call->msg = msg;
    s_client_address(req, call->client_address, sizeof call->client_address);
    if (call->path == NULL) {
        s_call_error(call, 500, "internal", "Недостаточно памяти", NULL, 0);
        return;
    }
    if (idem != NULL && !(r->flags & ROUTE_SECRET)) {
        call->idem_value = strndup(idem->base, idem->len);
        idempotency_fingerprint(req->method.base, req->method.len, req->input.path.base, req->input.path.len, body,
                                body_len, call->fingerprint);
    }
    const h2o_iovec_t *authorization = gateway_http_header(req, H2O_TOKEN_AUTHORIZATION);
    h2o_iovec_t from_cookie;
    if (s_browser_session(call, req, &authorization, &from_cookie) != 0)
        return;
    if (r->flags & ROUTE_TOKEN) {
        const char *token;
        size_t token_len;
        if (authorization && gateway_auth_bearer(authorization->base, authorization->len, &token, &token_len) == 0)
            call->token = strndup(token, token_len);
    }
    if (r->flags & ROUTE_PUBLIC) {
        s_continue(call, gateway_auth_gateway_principal());
        return;
    }
    if (http->auth == NULL) {
        s_call_error(call, 503, "unavailable", HTTP_UNAVAILABLE_MESSAGE, NULL, 0);
        return;
    }
    call->auth_wait = gateway_auth_check(http->auth, authorization ? authorization->base : NULL,
                                         authorization ? authorization->len : 0, request_id, s_on_authenticated, call);
    if (call->auth_wait == NULL) {
        s_call_error(call, 500, "internal", "Недостаточно памяти", NULL, 0);
        return;
    }
    call->refs++; /* the callback's, always later */
}
