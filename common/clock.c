/* clock — wall-clock helpers: Unix milliseconds and RFC 3339 UTC timestamps, written and read. */
#include "clock.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "validate.h"

int64_t clock_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Two decimal digits of v (0..99) at out. */
static void s_two(char *out, int v)
{
    out[0] = (char)('0' + v / 10);
    out[1] = (char)('0' + v % 10);
}

char *clock_rfc3339(int64_t unix_ms, char *buf, size_t size)
{
    /* every log line and audit entry takes the time: the calendar part is worked out once a second
     * (per thread) and the rest written digit by digit, without gmtime_r and snprintf each time */
    static _Thread_local int64_t cached_second = INT64_MIN;
    static _Thread_local char cached[80]; /* "YYYY-MM-DDTHH:MM:SS" (room for any int the format can take) */
    int64_t second = unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
    int ms = (int)(unix_ms - second * 1000);
    if (second != cached_second) {
        time_t t = (time_t)second;
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
        cached_second = second;
    }
    char text[88];
    size_t n = strlen(cached);
    memcpy(text, cached, n);
    text[n] = '.';
    text[n + 1] = (char)('0' + ms / 100);
    s_two(text + n + 2, ms % 100);
    text[n + 4] = 'Z';
    text[n + 5] = '\0';
    if (size > 0) {
        size_t len = n + 5 < size ? n + 5 : size - 1;
        memcpy(buf, text, len);
        buf[len] = '\0';
    }
    return buf;
}

/* n decimal digits at s into *out; false when any is not a digit. */
static bool s_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool clock_parse_rfc3339(const char *text, int64_t *unix_ms)
{
    /* the calendar date is validate.h's date_parse: one rule for real dates in the tree */
    char date[11];
    int days, h, mi, s, ms = 0;
    if (text == NULL || strnlen(text, 10) < 10)
        return false;
    memcpy(date, text, 10);
    date[10] = '\0';
    if (!date_parse(date, &days) || (text[10] != 'T' && text[10] != 't') || !s_digits(text + 11, 2, &h) ||
        text[13] != ':' || !s_digits(text + 14, 2, &mi) || text[16] != ':' || !s_digits(text + 17, 2, &s) || h > 23 ||
        mi > 59 || s > 60)
        return false;
    const char *p = text + 19;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        if (digits == 0)
            return false;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    int offset_minutes = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!s_digits(p + 1, 2, &oh) || p[3] != ':' || !s_digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        offset_minutes = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p != '\0')
        return false;
    if (s == 60)
        s = 59; /* a leap second is read as the second before it */
    int64_t seconds = (((int64_t)days * 24 + h) * 60 + mi) * 60 + s - (int64_t)offset_minutes * 60;
    *unix_ms = seconds * 1000 + ms;
    return true;
}
