/* notify_http — outbound HTTP POSTs for webhook deliveries: libcurl's multi-socket API on the libuv
 * loop (one multi handle; a uv_poll_t per socket, freed only in its uv_close callback; a uv timer for
 * curl's timeouts — libcurl is never called from inside its own timer callback, the uv timer calls it
 * on the next loop turn; poll errors are passed to curl as CURL_CSELECT_ERR). No redirects are
 * followed; the resolved address is checked before connecting (notify_address_private) unless private
 * addresses are allowed. */
#ifndef METODNET_NOTIFY_HTTP_H
#define METODNET_NOTIFY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define NOTIFY_HTTP_EXCERPT 256

typedef struct notify_http notify_http;

typedef struct {
    int status; /* HTTP status, 0 when there was no answer */
    int64_t duration_ms;
    const char *error;   /* Russian, when status is 0 (borrowed) */
    const char *excerpt; /* the first bytes of the answer (borrowed, NUL-terminated, may be cut) */
    int retry_after_s;   /* Retry-After in seconds (0 = none or unreadable) */
    bool aborted;        /* notify_http_destroy ended the transfer: no outcome */
} notify_http_result;

typedef void (*notify_http_cb)(const notify_http_result *result, void *ud);

notify_http *notify_http_new(uv_loop_t *loop, bool allow_private, uint32_t timeout_ms);
/* POST body (copied) to url with the headers ("Name: value", copied). cb exactly once, never from
 * inside the call. Returns 0, or -1 (cb not called). */
int notify_http_post(notify_http *http, const char *url, const char *const *headers, size_t n_headers, const char *body,
                     size_t body_len, notify_http_cb cb, void *ud);
/* Transfers in flight. */
size_t notify_http_in_flight(const notify_http *http);
/* Aborts the transfers (their callbacks get aborted = true), closes the handles; frees once they are
 * closed (run the loop). */
void notify_http_destroy(notify_http **http);

#endif
