/* log — JSON-lines logs on stderr (see log.h). One write(2) per line so lines from concurrent
 * processes sharing a file do not interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock.h"

static const char *s_service = "metodnet";
static log_level s_min_level = LOG_INFO;
static long s_pid;               /* getpid() is a system call each time: taken once */
static double s_slow_ms = 250;   /* METODNET_LOG_SLOW_MS */
static unsigned s_access_sample; /* METODNET_ACCESS_LOG_SAMPLE: every Nth call, 0 = none */
static unsigned s_access_counter;
static const char *const s_level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *service)
{
    s_service = service;
    s_pid = (long)getpid();
    const char *slow = getenv("METODNET_LOG_SLOW_MS");
    if (slow && *slow)
        s_slow_ms = strtod(slow, NULL);
    const char *sample = getenv("METODNET_ACCESS_LOG_SAMPLE");
    if (sample && *sample)
        s_access_sample = (unsigned)strtoul(sample, NULL, 10);
    const char *level = getenv("METODNET_LOG_LEVEL");
    if (level == NULL)
        return;
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
        if (strcasecmp(level, s_level_names[i]) == 0)
            s_min_level = (log_level)i;
}

/* Appends text to out as the inside of a JSON string; control characters are escaped. */
static size_t s_escape(char *out, size_t at, size_t size, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p && at + 8 < size; p++) {
        if (*p == '"' || *p == '\\') {
            out[at++] = '\\';
            out[at++] = (char)*p;
        } else if (*p < 0x20) {
            at += (size_t)snprintf(out + at, size - at, "\\u%04x", *p);
        } else {
            out[at++] = (char)*p;
        }
    }
    return at;
}

void log_write(log_level level, const char *request_id, const char *format, ...)
{
    if (level < s_min_level)
        return;
    char message[2048];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);

    char line[4096];
    char ts[40];
    size_t at = (size_t)snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"%s\",\"pid\":%ld",
                                 clock_rfc3339(clock_unix_ms(), ts, sizeof ts), s_level_names[level], s_service,
                                 s_pid ? s_pid : (long)getpid());
    if (request_id != NULL && *request_id) {
        at += (size_t)snprintf(line + at, sizeof line - at, ",\"requestId\":\"");
        at = s_escape(line, at, sizeof line, request_id);
        line[at++] = '"';
    }
    at += (size_t)snprintf(line + at, sizeof line - at, ",\"msg\":\"");
    at = s_escape(line, at, sizeof line - 3, message);
    line[at++] = '"';
    line[at++] = '}';
    line[at++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, at);
    (void)ignored;
}

bool log_call_wanted(bool failed, double ms)
{
    if (s_min_level > LOG_INFO)
        return false;
    if (failed || ms >= s_slow_ms || s_min_level == LOG_DEBUG)
        return true;
    if (s_access_sample == 0)
        return false;
    return ++s_access_counter % s_access_sample == 0;
}
