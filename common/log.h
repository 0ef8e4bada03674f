/* log — JSON-lines logs on stderr, one object per line:
 *   {"ts":"2026-11-23T12:00:00.123Z","level":"info","service":"registry","requestId":"…","msg":"…"}
 * Messages never carry secrets: callers log ids, never passwords, tokens or personal data.
 */
#ifndef METODNET_LOG_H
#define METODNET_LOG_H

#include <stdbool.h>

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* service is borrowed (a literal); level from METODNET_LOG_LEVEL (debug|info|warn|error). */
void log_init(const char *service);
/* request_id may be NULL. */
void log_write(log_level level, const char *request_id, const char *format, ...) __attribute__((format(printf, 3, 4)));

/* Whether the line of one finished call (an rpc a worker answered) is written: always when it failed
 * or took at least METODNET_LOG_SLOW_MS (250 ms), every call at level debug, else one in
 * METODNET_ACCESS_LOG_SAMPLE calls (0, the default: none) — a line per request costs more than the
 * request's own work on the read path (docs/performance.md). */
bool log_call_wanted(bool failed, double ms);

#define log_debug(rid, ...) log_write(LOG_DEBUG, rid, __VA_ARGS__)
#define log_info(rid, ...)  log_write(LOG_INFO, rid, __VA_ARGS__)
#define log_warn(rid, ...)  log_write(LOG_WARN, rid, __VA_ARGS__)
#define log_error(rid, ...) log_write(LOG_ERROR, rid, __VA_ARGS__)

#endif
