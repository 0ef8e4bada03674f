/* utf8 — strict UTF-8 validation and the text operations built on it (contract in utf8.h). */
#include "utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool s_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

size_t utf8_sequence(const char *text, size_t n, bool *cut)
{
    const unsigned char *s = (const unsigned char *)text;
    if (cut)
        *cut = false;
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        if (i >= n) {
            if (cut)
                *cut = true;
            return 0;
        }
        if (!s_continuation(s[i]) || (i == 1 && (s[1] < lo || s[1] > hi)))
            return 0;
    }
    return need;
}

size_t utf8_invalid_at(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* the common cases inline: ASCII, and a two-byte letter (all of Cyrillic) */
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        if (p[i] >= 0xC2 && p[i] <= 0xDF && i + 1 < len && s_continuation(p[i + 1])) {
            i += 2;
            continue;
        }
        size_t step = utf8_sequence(s + i, len - i, NULL);
        if (step == 0)
            return i;
        i += step;
    }
    return len;
}

bool utf8_valid(const char *s, size_t len)
{
    return utf8_invalid_at(s, len) == len;
}

bool utf8_valid_but_cut(const char *s, size_t len)
{
    size_t at = utf8_invalid_at(s, len);
    if (at == len)
        return true;
    bool cut = false;
    utf8_sequence(s + at, len - at, &cut);
    return cut;
}

size_t utf8_length(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (!s_continuation(*p))
            n++;
    return n;
}

size_t utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t cut = max;
    while (cut > 0 && s_continuation((unsigned char)s[cut]))
        cut--;
    return cut;
}

char *utf8_sanitize(const char *s, size_t len, size_t *out_len)
{
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    size_t i = 0, o = 0;
    while (i < len) {
        size_t step = utf8_sequence(s + i, len - i, NULL);
        if (step == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, step);
            o += step;
            i += step;
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}
