/* cursor — opaque hex list cursors (see cursor.h); the hex itself is libsodium's. */
#include "cursor.h"
#include "xalloc.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

char *cursor_encode(const char *member)
{
    size_t len = strlen(member);
    char *token = xmalloc(len * 2 + 1);
    sodium_bin2hex(token, len * 2 + 1, (const unsigned char *)member, len);
    return token;
}

bool cursor_decode(const char *token, char *out, size_t size)
{
    size_t len = strlen(token);
    if (len == 0 || len % 2 != 0 || len / 2 > CURSOR_MAX_MEMBER || len / 2 + 1 > size)
        return false;
    /* one spelling per cursor: the lowercase that cursor_encode writes */
    if (strspn(token, "0123456789abcdef") != len)
        return false;
    size_t n = 0;
    if (sodium_hex2bin((unsigned char *)out, size - 1, token, len, NULL, &n, NULL) != 0 || n != len / 2)
        return false;
    if (memchr(out, '\0', n) != NULL)
        return false; /* a member never holds NUL */
    out[n] = '\0';
    return true;
}
