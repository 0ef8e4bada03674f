/* static — the web console's files (web/dist, built by ./ops/up and ./ops/test with npm) served by the
 * gateway at / while the API stays under /api/v1/.
 *
 * The files are read into memory once at start (the console is small: a few hundred KiB) with a strong
 * ETag (SHA-256 of the content) and, for text, a gzip copy. Answers: GET and HEAD only; If-None-Match
 * → 304; files under /assets/ carry a content hash in their names and are cached for a year
 * (immutable), everything else (index.html) is revalidated on every load (no-cache). A path that names
 * no file and has no extension is a screen of the console: index.html answers it (the console routes
 * itself). Every answer carries a strict Content-Security-Policy (no inline script or style),
 * X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer and X-Frame-Options: DENY.
 */
#ifndef METODNET_GATEWAY_STATIC_H
#define METODNET_GATEWAY_STATIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <h2o.h>

#include "metrics.h"

typedef struct gateway_static gateway_static;

/* Loads every regular file under dir (at most 64 MiB in all). NULL dir, a missing dir or one without
 * index.html gives a module that answers "/" with a Russian 404 saying the console is not built.
 * NULL only when out of memory. */
gateway_static *gateway_static_new(const char *dir);
void gateway_static_destroy(gateway_static **s);

/* Number of files loaded (0 when the console is not built). */
size_t gateway_static_count(const gateway_static *s);

/* Answers req when it is the console's (GET or HEAD of a path outside /api/); false otherwise, and
 * then nothing was sent. path is without the query. */
bool gateway_static_serve(gateway_static *s, gateway_metrics *metrics, h2o_req_t *req, const char *path,
                          size_t path_len, const char *request_id, uint64_t started_ns);

/* The Content-Security-Policy the console is served with (also for tests). */
extern const char gateway_static_csp[];

#endif
