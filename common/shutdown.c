/* shutdown — graceful stop on SIGTERM/SIGINT for a process's libuv loop (see shutdown.h). */
#include "shutdown.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static uv_signal_t s_sigterm;
static uv_signal_t s_sigint;
static int s_watching;
static int s_signalled;
static void (*s_on_signal)(void *);
static void *s_ud;

static void s_handle(uv_signal_t *handle, int signum)
{
    (void)handle;
    (void)signum;
    if (s_signalled++)
        _exit(1); /* a second signal: the operator wants it gone now */
    if (s_on_signal)
        s_on_signal(s_ud);
}

int shutdown_watch(uv_loop_t *loop, void (*on_signal)(void *ud), void *ud)
{
    signal(SIGPIPE, SIG_IGN);
    s_on_signal = on_signal;
    s_ud = ud;
    int rc = uv_signal_init(loop, &s_sigterm);
    if (rc == 0)
        rc = uv_signal_init(loop, &s_sigint);
    if (rc == 0)
        rc = uv_signal_start(&s_sigterm, s_handle, SIGTERM);
    if (rc == 0)
        rc = uv_signal_start(&s_sigint, s_handle, SIGINT);
    if (rc == 0)
        s_watching = 1;
    return rc;
}

void shutdown_unwatch(void)
{
    if (!s_watching)
        return;
    s_watching = 0;
    uv_close((uv_handle_t *)&s_sigterm, NULL);
    uv_close((uv_handle_t *)&s_sigint, NULL);
}
