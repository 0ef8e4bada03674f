/* cursor — opaque list cursors: the position inside an index (an entity_store member) travels to the
 * client as a hex token and comes back as `cursor`. Tokens from clients are untrusted: decoding checks
 * alphabet, length and content. */
#ifndef METODNET_CURSOR_H
#define METODNET_CURSOR_H

#include <stdbool.h>
#include <stddef.h>

#define CURSOR_MAX_MEMBER 512

/* Encodes member; caller free()s. */
char *cursor_encode(const char *member);
/* Decodes token into out (at least CURSOR_MAX_MEMBER + 1 bytes); false for a malformed token. */
bool cursor_decode(const char *token, char *out, size_t size);

#endif
