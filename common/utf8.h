/* utf8 — the one UTF-8 validator of the tree (JSON, CSV, field checks use it): strict RFC 3629
 * (no overlong forms, no surrogates, nothing above U+10FFFF), plus the few text operations built on
 * it: character count, cutting on a sequence boundary, replacing invalid bytes.
 */
#ifndef METODNET_UTF8_H
#define METODNET_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1-4) of the valid sequence at s within n bytes (n ≥ 1); 0 when it is invalid or cut short.
 * *cut (may be NULL) is set when the n bytes are a valid but incomplete start of a sequence. */
size_t utf8_sequence(const char *s, size_t n, bool *cut);
/* Offset of the first byte that does not start a valid sequence, len when all of s is valid. */
size_t utf8_invalid_at(const char *s, size_t len);
bool utf8_valid(const char *s, size_t len);
/* Valid, except that the last sequence may be cut off by the end of the buffer (a read chunk). */
bool utf8_valid_but_cut(const char *s, size_t len);
/* Characters (code points) in a valid NUL-terminated UTF-8 string. */
size_t utf8_length(const char *s);
/* Largest prefix length ≤ max that does not cut a sequence of valid text. */
size_t utf8_prefix(const char *s, size_t len, size_t max);
/* Copy of s with each invalid byte replaced by U+FFFD, NUL-terminated; caller frees; NULL when out
 * of memory or too long. */
char *utf8_sanitize(const char *s, size_t len, size_t *out_len);

#endif
