/* api_error — the gateway's one error shape and status mapping:
 *   {"error":{"code":"not_found","message":"<Russian>","details":[{"field","description"}],"requestId":"…"}}
 * Service StatusCode values map to HTTP statuses here and nowhere else; codes are lowercase words.
 */
#ifndef METODNET_GATEWAY_API_ERROR_H
#define METODNET_GATEWAY_API_ERROR_H

#include <stddef.h>

typedef struct {
    const char *field;       /* JSON path, parameter or header name; "" for the request as a whole */
    const char *description; /* Russian */
} api_error_detail;

/* HTTP status for a metodnet.StatusCode value (OK → 200); an unknown value → 500. *code (may be
 * NULL) receives the API word ("not_found"), static storage. */
int api_error_http_status(int status_code, const char **code);

/* API word for an HTTP error status the gateway produces itself (404 → "not_found",
 * 413 → "payload_too_large"); "internal" for a status without a word. Static storage. */
const char *api_error_code_for_http(int http_status);

/* The error document as compact JSON; caller free()s. NULL only when out of memory. */
char *api_error_json(const char *code, const char *message, const api_error_detail *details, size_t n_details,
                     const char *request_id, size_t *len);

#endif
