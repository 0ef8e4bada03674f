/* api_error — status mapping and the error document (see api_error.h). */
#include "api_error.h"

#include <string.h>
#include <jansson.h>

#include "envelope.pb-c.h"

typedef struct {
    int status_code;
    int http_status;
    const char *code;
} s_mapping;

static const s_mapping s_map[] = {
    {METODNET__STATUS_CODE__STATUS_CODE_OK, 200, "ok"},
    {METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT, 400, "invalid_argument"},
    {METODNET__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED, 401, "unauthenticated"},
    {METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, 403, "permission_denied"},
    {METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, 404, "not_found"},
    {METODNET__STATUS_CODE__STATUS_CODE_CONFLICT, 409, "conflict"},
    {METODNET__STATUS_CODE__STATUS_CODE_VERSION_MISMATCH, 412, "version_mismatch"},
    {METODNET__STATUS_CODE__STATUS_CODE_UNPROCESSABLE, 422, "unprocessable"},
    {METODNET__STATUS_CODE__STATUS_CODE_TOO_MANY_REQUESTS, 429, "too_many_requests"},
    {METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, 500, "internal"},
    {METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, 503, "unavailable"},
    {METODNET__STATUS_CODE__STATUS_CODE_DEADLINE_EXCEEDED, 504, "deadline_exceeded"},
    {METODNET__STATUS_CODE__STATUS_CODE_UNIMPLEMENTED, 501, "unimplemented"},
};

int api_error_http_status(int status_code, const char **code)
{
    for (size_t i = 0; i < sizeof s_map / sizeof s_map[0]; i++) {
        if (s_map[i].status_code == status_code) {
            if (code != NULL)
                *code = s_map[i].code;
            return s_map[i].http_status;
        }
    }
    if (code != NULL)
        *code = "internal";
    return 500;
}

const char *api_error_code_for_http(int http_status)
{
    switch (http_status) {
    case 405:
        return "method_not_allowed";
    case 413:
        return "payload_too_large";
    case 415:
        return "unsupported_media_type";
    case 431:
        return "header_too_large";
    default:
        break;
    }
    for (size_t i = 1; i < sizeof s_map / sizeof s_map[0]; i++)
        if (s_map[i].http_status == http_status)
            return s_map[i].code;
    return "internal";
}

/* A JSON string for text that may not be valid UTF-8 (e.g. a decoded query parameter name). */
static json_t *s_text(const char *text)
{
    json_t *s = json_string(text ? text : "");
    return s ? s : json_string("(некорректный UTF-8)");
}

char *api_error_json(const char *code, const char *message, const api_error_detail *details, size_t n_details,
                     const char *request_id, size_t *len)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < n_details; i++) {
        json_array_append_new(list, json_pack("{s:o, s:o}", "field", s_text(details[i].field), "description",
                                              s_text(details[i].description)));
    }
    json_t *doc = json_pack("{s:{s:o, s:o, s:o, s:o}}", "error", "code", s_text(code), "message", s_text(message),
                            "details", list, "requestId", s_text(request_id));
    if (doc == NULL)
        return NULL;
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (text != NULL && len != NULL)
        *len = strlen(text);
    return text;
}
