/* shutdown — graceful stop on SIGTERM/SIGINT for a process's libuv loop: the first signal calls
 * on_signal once (the service then stops taking work and closes its handles); a second signal exits
 * at once. SIGPIPE is ignored. */
#ifndef METODNET_SHUTDOWN_H
#define METODNET_SHUTDOWN_H

#include <uv.h>

int shutdown_watch(uv_loop_t *loop, void (*on_signal)(void *ud), void *ud);
/* Closes the signal handles (call from the shutdown path so the loop can end). */
void shutdown_unwatch(void);

#endif
