/* cursor — opaque hex list cursors (see cursor.h). */
#include "cursor.h"

#include <stdlib.h>
#include <string.h>

static const char s_hex[] = "0123456789abcdef";

char *cursor_encode(const char *member)
{
    size_t len = strlen(member);
    char *token = malloc(len * 2 + 1);
    if (token == NULL)
        abort();
    for (size_t i = 0; i < len; i++) {
        token[2 * i] = s_hex[(unsigned char)member[i] >> 4];
        token[2 * i + 1] = s_hex[(unsigned char)member[i] & 15];
    }
    token[len * 2] = '\0';
    return token;
}

static int s_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

bool cursor_decode(const char *token, char *out, size_t size)
{
    size_t len = strlen(token);
    if (len == 0 || len % 2 != 0 || len / 2 > CURSOR_MAX_MEMBER || len / 2 + 1 > size)
        return false;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = s_nibble(token[2 * i]), lo = s_nibble(token[2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return false;
        out[i] = (char)(hi << 4 | lo);
    }
    out[len / 2] = '\0';
    return true;
}
