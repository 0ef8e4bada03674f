/* xalloc — the one out-of-memory policy of the tree: allocation either succeeds or the process says
 * so on stderr and aborts (as Redis' zmalloc does). A service that cannot allocate a few bytes cannot
 * answer anyone correctly; its supervisor restarts it and the broker re-dispatches its work. Size 0
 * allocates one byte, so the result is never NULL.
 */
#ifndef METODNET_XALLOC_H
#define METODNET_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Called instead of returning NULL; prints what failed and aborts. */
_Noreturn void xalloc_failed(size_t size);

#endif
