/* clock — wall-clock helpers: Unix milliseconds and RFC 3339 UTC timestamps, written and read. */
#include "clock.h"

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

char *clock_rfc3339(int64_t unix_ms, char *buf, size_t size)
{
    time_t seconds = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(unix_ms % 1000));
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
