/* http_reply — the gateway's responses: small request helpers (request id, headers), sending one
 * complete response or the API's JSON error (gateway_http_send: X-Request-Id and metrics), CSV
 * downloads, and turning a service's Reply into the HTTP response. */
#include "http_internal.h"
#include "process_health.h"

/* ---- small helpers ---- */

static const char *s_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Error";
    }
}

static bool s_request_id_sane(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

void gateway_http_request_id(h2o_req_t *req, char out[72])
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    if (i != -1 && s_request_id_sane(req->headers.entries[i].value.base, req->headers.entries[i].value.len)) {
        memcpy(out, req->headers.entries[i].value.base, req->headers.entries[i].value.len);
        out[req->headers.entries[i].value.len] = '\0';
        return;
    }
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, 72, raw, sizeof raw);
}

/* Borrowed header value or NULL. */
const h2o_iovec_t *gateway_http_header(h2o_req_t *req, const h2o_token_t *token)
{
    ssize_t i = h2o_find_header(&req->headers, token, -1);
    return i == -1 ? NULL : &req->headers.entries[i].value;
}

static double s_seconds_since(uint64_t started_ns)
{
    return (double)(uv_hrtime() - started_ns) / 1e9;
}

/* Sends one complete response (body copied into the request pool) and counts it. */
void gateway_http_send(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id,
                       uint64_t started_ns, int status, const char *content_type, const char *body, size_t len,
                       const http_extra *extra)
{
    /* a 503 of the health pages tells about other processes, not a failure of the gateway */
    process_health_note_request(status >= 500 && strncmp(label, "GET /healthz", 12) != 0);
    req->res.status = status;
    req->res.reason = s_reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    h2o_iovec_t rid = h2o_strdup(&req->pool, request_id, SIZE_MAX);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, rid.base, rid.len);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL,
                          H2O_STRLIT("nosniff"));
    /* Every 503 says when to come back (RFC 9110 §10.2.3): a restart or a reload takes seconds. */
    if (status == 503 && (extra == NULL || extra->retry_after <= 0))
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
    if (extra != NULL) {
        if (extra->etag != NULL && extra->etag[0] != '\0') {
            h2o_iovec_t v = h2o_strdup(&req->pool, extra->etag, SIZE_MAX);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, v.base, v.len);
        }
        if (extra->location != NULL && extra->location[0] != '\0') {
            h2o_iovec_t v = h2o_strdup(&req->pool, extra->location, SIZE_MAX);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, v.base, v.len);
        }
        if (extra->allow != NULL) {
            h2o_iovec_t v = h2o_strdup(&req->pool, extra->allow, SIZE_MAX);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, v.base, v.len);
        }
        if (extra->retry_after > 0) {
            char text[16];
            int n = snprintf(text, sizeof text, "%d", extra->retry_after);
            h2o_iovec_t v = h2o_strdup(&req->pool, text, (size_t)n);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, v.base, v.len);
        }
        if (extra->content_disposition != NULL) {
            h2o_iovec_t v = h2o_strdup(&req->pool, extra->content_disposition, SIZE_MAX);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_DISPOSITION, NULL, v.base, v.len);
        }
        if (extra->set_cookie != NULL) {
            h2o_iovec_t v = h2o_strdup(&req->pool, extra->set_cookie, SIZE_MAX);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL, v.base, v.len);
        }
        if (extra->replayed)
            h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("idempotent-replayed"), 0, NULL,
                                  H2O_STRLIT("true"));
    }
    gateway_metrics_observe(http->metrics, label, status, s_seconds_since(started_ns));
    if (status >= 500)
        log_warn(request_id, "%s → %d", label, status);
    req->res.content_length = len;
    h2o_send_inline(req, body, len);
}

void gateway_http_send_error(gateway_http *http, h2o_req_t *req, const char *label, const char *request_id,
                             uint64_t started_ns, int status, const char *code, const char *message,
                             const api_error_detail *details, size_t n_details, const http_extra *extra)
{
    size_t len = 0;
    char *body =
        api_error_json(code ? code : api_error_code_for_http(status), message, details, n_details, request_id, &len);
    if (body == NULL) {
        static const char fallback[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"Внутренняя ошибка\",\"details\":[],\"requestId\":\"\"}}";
        gateway_http_send(http, req, label, request_id, started_ns, 500, HTTP_JSON, fallback, sizeof fallback - 1,
                          NULL);
        return;
    }
    gateway_http_send(http, req, label, request_id, started_ns, status, HTTP_JSON, body, len, extra);
    free(body);
}

static const char *s_default_message(int http_status)
{
    switch (http_status) {
    case 400:
        return "Некорректный запрос";
    case 401:
        return "Требуется аутентификация";
    case 403:
        return "Недостаточно прав";
    case 404:
        return "Объект не найден";
    case 409:
        return "Конфликт с текущим состоянием";
    case 412:
        return "Версия объекта изменилась; получите его заново";
    case 422:
        return "Запрос не может быть выполнен";
    case 429:
        return "Слишком много запросов, повторите позже";
    case 501:
        return "Операция не поддерживается";
    case 503:
        return HTTP_UNAVAILABLE_MESSAGE;
    case 504:
        return "Служба не ответила вовремя";
    default:
        return "Внутренняя ошибка";
    }
}

#define HTTP_CSV "text/csv; charset=utf-8"

/* ROUTE_CSV_OUT: the response's csv bytes are the body; response is freed. */
static void s_send_csv(http_call *call, ProtobufCMessage *response)
{
    const ProtobufCFieldDescriptor *f = response ? pbjson_find_field(response->descriptor, "csv") : NULL;
    if (f == NULL || f->type != PROTOBUF_C_TYPE_BYTES || f->label == PROTOBUF_C_LABEL_REPEATED) {
        log_error(call->request_id, "ответ %s без поля csv", call->route->rpc);
        if (response)
            protobuf_c_message_free_unpacked(response, NULL);
        gateway_http_finish_error(call, 500, "internal", "Служба вернула некорректный ответ", NULL, 0);
        return;
    }
    const ProtobufCBinaryData *csv = (const ProtobufCBinaryData *)((const char *)response + f->offset);
    const char *filename = pbfield_string(response, "filename");
    char disposition[200] = "attachment";
    /* only a plain file name goes into the header */
    if (filename != NULL && *filename &&
        strspn(filename, "abcdefghijklmnopqrstuvwxyz0123456789-_.") == strlen(filename) && strlen(filename) < 100)
        snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", filename);
    if (call->req != NULL && !call->responded) {
        call->responded = true;
        http_extra extra = {NULL, NULL, NULL, false, 0, disposition, NULL};
        gateway_http_send(call->http, call->req, call->label, call->request_id, call->started_ns,
                          route_success_status(call->route), HTTP_CSV, (const char *)csv->data, csv->len, &extra);
    }
    protobuf_c_message_free_unpacked(response, NULL);
}

/* The content types a service may give a file answer (ROUTE_FILE_OUT). */
static const char *s_file_type(const char *type)
{
    static const char *const allowed[] = {"text/csv; charset=utf-8", "text/html; charset=utf-8",
                                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"};
    for (size_t i = 0; type && i < sizeof allowed / sizeof allowed[0]; i++)
        if (strcmp(type, allowed[i]) == 0)
            return allowed[i];
    return NULL;
}

/* ROUTE_FILE_OUT: when the response's `file` is set, its content is the body and true is returned
 * (response freed); false: the answer is the JSON as usual. */
static bool s_send_file(http_call *call, ProtobufCMessage *response)
{
    const ProtobufCFieldDescriptor *f = response ? pbjson_find_field(response->descriptor, "file") : NULL;
    if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED)
        return false;
    const Metodnet__FileBody *file = *(Metodnet__FileBody *const *)((const char *)response + f->offset);
    if (file == NULL)
        return false;
    const char *type = s_file_type(file->content_type);
    if (type == NULL) {
        log_error(call->request_id, "ответ %s: файл недопустимого типа", call->route->rpc);
        protobuf_c_message_free_unpacked(response, NULL);
        gateway_http_finish_error(call, 500, "internal", "Служба вернула некорректный ответ", NULL, 0);
        return true;
    }
    char disposition[200] = "attachment";
    const char *filename = file->filename;
    if (filename != NULL && *filename &&
        strspn(filename, "abcdefghijklmnopqrstuvwxyz0123456789-_.") == strlen(filename) && strlen(filename) < 100)
        snprintf(disposition, sizeof disposition, "%s; filename=\"%s\"",
                 strncmp(type, "text/html", 9) == 0 ? "inline" : "attachment", filename);
    if (call->req != NULL && !call->responded) {
        call->responded = true;
        http_extra extra = {NULL, NULL, NULL, false, 0, disposition, NULL};
        gateway_http_send(call->http, call->req, call->label, call->request_id, call->started_ns,
                          route_success_status(call->route), type, (const char *)file->content.data, file->content.len,
                          &extra);
    }
    protobuf_c_message_free_unpacked(response, NULL);
    return true;
}

/* The service's queue in the broker is full: 503 at once, with when to come back. */
void gateway_http_finish_overloaded(http_call *call)
{
    gateway_http *http = call->http;
    char message[200], description[160];
    snprintf(message, sizeof message, "Служба «%s» перегружена: повторите запрос позже", call->route->service);
    snprintf(description, sizeof description, "В очереди к службе уже %zu запросов (предел %zu)",
             http->broker ? mdp_broker_queue_depth(http->broker, call->route->service) : 0,
             http->broker ? mdp_broker_queue_max(http->broker) : 0);
    api_error_detail detail = {.field = "queue", .description = description};
    call->retry_after = HTTP_OVERLOAD_RETRY_AFTER_S;
    gateway_http_finish_error(call, 503, "unavailable", message, &detail, 1);
}

/* ETag (the answer's version) and Location (a created record: the request path + its id) from the
 * fields the wire writer captured. */
static void s_packed_etag_location(const http_call *call, const pbjson_capture *version, const pbjson_capture *id,
                                   char etag[40], char *location, size_t location_size)
{
    if (version->field)
        snprintf(etag, 40, "\"%lld\"", (long long)(version->found ? (int64_t)version->varint : 0));
    if ((call->route->flags & ROUTE_CREATE) && id->found) {
        const uint8_t *nul = memchr(id->bytes, '\0', id->len); /* as the unpacked C string would end */
        size_t id_len = nul ? (size_t)(nul - id->bytes) : id->len;
        if (id_len > 0)
            snprintf(location, location_size, "%s/%.*s", call->path, (int)id_len, (const char *)id->bytes);
    }
}

/* The success answer: stored for the Idempotency-Key (if any) and sent; frees json, drops the call. */
static void s_finish_json(http_call *call, char *json, size_t json_len, const char *etag, const char *location)
{
    gateway_http *http = call->http;
    int status = route_success_status(call->route);
    if (call->session_start && call->set_cookie == NULL)
        log_warn(call->request_id, "%s: ответ без токена, cookie сеанса не выдана", call->route->rpc);
    gateway_http_idempotency_finish(call, status, json, json_len, etag, location);
    if (call->req != NULL && !call->responded) {
        call->responded = true;
        http_extra extra = {etag, location, NULL, false, 0, NULL, call->set_cookie};
        gateway_http_send(http, call->req, call->label, call->request_id, call->started_ns, status, HTTP_JSON, json,
                          json_len, &extra);
    }
    free(json);
    gateway_http_call_unref(call);
}

/* Turns the service's Reply into the HTTP response. */
void gateway_http_on_reply(int result, const uint8_t *body, size_t len, void *ud)
{
    http_call *call = ud;
    gateway_http *http = call->http;
    call->pending = NULL;
    gateway_http_call_unlink(call);
    if (result != MDP_OK) {
        if (result == MDP_ERR_TIMEOUT &&
            (http->broker == NULL || mdp_broker_worker_count(http->broker, call->route->service) > 0))
            gateway_http_finish_error(call, 504, "deadline_exceeded", "Служба не ответила вовремя", NULL, 0);
        else if (result == MDP_ERR_INVALID)
            gateway_http_finish_error(call, 500, "internal", "Внутренняя ошибка шлюза", NULL, 0);
        else if (result == MDP_ERR_OVERLOADED)
            gateway_http_finish_overloaded(call);
        else
            gateway_http_finish_error(call, 503, "unavailable", HTTP_UNAVAILABLE_MESSAGE, NULL, 0);
        gateway_http_call_unref(call);
        return;
    }
    Metodnet__Reply *reply = metodnet__reply__unpack(NULL, len, body);
    if (reply == NULL) {
        log_error(call->request_id, "служба %s вернула нераспознаваемый ответ (%zu байт)", call->route->service, len);
        gateway_http_finish_error(call, 500, "internal", "Служба вернула некорректный ответ", NULL, 0);
        gateway_http_call_unref(call);
        return;
    }
    int code = reply->status ? (int)reply->status->code : METODNET__STATUS_CODE__STATUS_CODE_OK;
    if (code != METODNET__STATUS_CODE__STATUS_CODE_OK) {
        const char *word;
        int status = api_error_http_status(code, &word);
        size_t n = reply->status->n_violations;
        api_error_detail *details = n ? calloc(n, sizeof *details) : NULL;
        if (details == NULL)
            n = 0;
        for (size_t i = 0; i < n; i++) {
            details[i].field = reply->status->violations[i] ? reply->status->violations[i]->field : "";
            details[i].description = reply->status->violations[i] ? reply->status->violations[i]->description : "";
        }
        const char *message =
            reply->status->message && reply->status->message[0] ? reply->status->message : s_default_message(status);
        if (reply->status->retry_after_seconds > 0)
            call->retry_after = reply->status->retry_after_seconds;
        gateway_http_finish_error(call, status, word, message, details, n);
        free(details);
        metodnet__reply__free_unpacked(reply, NULL);
        gateway_http_call_unref(call);
        return;
    }
    const ProtobufCMessageDescriptor *output = route_method(call->route)->output;
    const ProtobufCFieldDescriptor *vf = protobuf_c_message_descriptor_get_field_by_name(output, "version");
    bool has_version = vf != NULL && vf->type == PROTOBUF_C_TYPE_INT64 && vf->label != PROTOBUF_C_LABEL_REPEATED;
    const ProtobufCFieldDescriptor *idf =
        call->route->flags & ROUTE_CREATE ? protobuf_c_message_descriptor_get_field_by_name(output, "id") : NULL;
    pbjson_capture captures[2] = {{.field = has_version ? vf : NULL},
                                  {.field = idf && idf->type == PROTOBUF_C_TYPE_STRING ? idf : NULL}};
    char etag[40] = "", location[512] = "";
    size_t json_len = 0;
    char *json = NULL;
    if (!(call->route->flags & (ROUTE_CSV_OUT | ROUTE_FILE_OUT)) && !call->session_start) {
        /* the common answer: JSON straight from the service's bytes, nothing unpacked */
        json = pbjson_encode_packed_capture(output, reply->payload.data, reply->payload.len, &json_len, captures, 2);
        if (json != NULL)
            s_packed_etag_location(call, &captures[0], &captures[1], etag, location, sizeof location);
    }
    if (json != NULL) {
        metodnet__reply__free_unpacked(reply, NULL);
        s_finish_json(call, json, json_len, etag, location);
        return;
    }
    ProtobufCMessage *response = protobuf_c_message_unpack(output, NULL, reply->payload.len, reply->payload.data);
    metodnet__reply__free_unpacked(reply, NULL);
    if (call->route->flags & ROUTE_CSV_OUT) {
        s_send_csv(call, response);
        gateway_http_call_unref(call);
        return;
    }
    if ((call->route->flags & ROUTE_FILE_OUT) && s_send_file(call, response)) {
        gateway_http_call_unref(call);
        return;
    }
    if (response != NULL && call->session_start)
        gateway_http_session_cookie(call, response);
    json = response ? pbjson_encode(response, &json_len) : NULL;
    if (json == NULL) {
        log_error(call->request_id, "ответ %s не разбирается как %s", call->route->rpc, output->name);
        if (response)
            protobuf_c_message_free_unpacked(response, NULL);
        gateway_http_finish_error(call, 500, "internal", "Служба вернула некорректный ответ", NULL, 0);
        gateway_http_call_unref(call);
        return;
    }
    if (has_version)
        snprintf(etag, sizeof etag, "\"%lld\"", (long long)pbfield_int64(response, "version"));
    if (call->route->flags & ROUTE_CREATE) {
        const char *id = pbfield_string(response, "id");
        if (id != NULL && id[0] != '\0')
            snprintf(location, sizeof location, "%s/%s", call->path, id);
    }
    protobuf_c_message_free_unpacked(response, NULL);
    s_finish_json(call, json, json_len, etag, location);
}
