/* zmq_loop — a ZeroMQ socket on a libuv uv_poll_t; see zmq_loop.h for the edge-trigger rules. */
#include "zmq_loop.h"

#include <errno.h>
#include <stdlib.h>

struct zmq_loop {
    uv_poll_t poll;
    uv_idle_t idle;
    void *socket;
    zmq_loop_message_cb cb;
    void *ud;
    int closed;
    int draining;
    int open_handles;
    uint64_t dropped;
    zmq_msg_t frames[ZMQ_LOOP_MAX_FRAMES];
};

/* Reads whole messages while ZMQ_EVENTS reports POLLIN and hands each to the callback. Never
 * re-entered; stops as soon as the callback closes the socket. */
static void s_drain(zmq_loop *zl)
{
    if (zl->draining || zl->closed)
        return;
    zl->draining = 1;
    while (!zl->closed) {
        int events = 0;
        size_t size = sizeof events;
        if (zmq_getsockopt(zl->socket, ZMQ_EVENTS, &events, &size) != 0 || !(events & ZMQ_POLLIN))
            break;
        size_t count = 0;
        int oversize = 0;
        int failed = 0;
        for (;;) {
            zmq_msg_t frame;
            zmq_msg_init(&frame);
            if (zmq_msg_recv(&frame, zl->socket, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&frame);
                failed = 1;
                break;
            }
            int more = zmq_msg_more(&frame);
            if (count < ZMQ_LOOP_MAX_FRAMES) {
                zmq_msg_init(&zl->frames[count]);
                zmq_msg_move(&zl->frames[count], &frame);
                count++;
            } else {
                oversize = 1;
            }
            zmq_msg_close(&frame);
            if (!more)
                break;
        }
        if (failed && count == 0)
            break; /* EAGAIN: nothing more to read after all */
        if (oversize || failed)
            zl->dropped++;
        else
            zl->cb(zl, zl->frames, count, zl->ud);
        for (size_t i = 0; i < count; i++)
            zmq_msg_close(&zl->frames[i]);
    }
    zl->draining = 0;
}

static void s_on_poll(uv_poll_t *handle, int status, int events)
{
    (void)status;
    (void)events;
    s_drain(handle->data);
}

static void s_on_idle(uv_idle_t *handle)
{
    zmq_loop *zl = handle->data;
    uv_idle_stop(&zl->idle);
    s_drain(zl);
}

static void s_on_close(uv_handle_t *handle)
{
    zmq_loop *zl = handle->data;
    if (--zl->open_handles == 0)
        free(zl);
}

zmq_loop *zmq_loop_new(uv_loop_t *loop, void *socket, zmq_loop_message_cb cb, void *ud)
{
    int fd = -1;
    size_t size = sizeof fd;
    if (zmq_getsockopt(socket, ZMQ_FD, &fd, &size) != 0) {
        int saved = errno;
        zmq_close(socket);
        errno = saved;
        return NULL;
    }
    zmq_loop *zl = calloc(1, sizeof *zl);
    if (!zl) {
        zmq_close(socket);
        errno = ENOMEM;
        return NULL;
    }
    zl->socket = socket;
    zl->cb = cb;
    zl->ud = ud;
    if (uv_poll_init(loop, &zl->poll, fd) != 0) {
        zmq_close(socket);
        free(zl);
        errno = EINVAL;
        return NULL;
    }
    zl->poll.data = zl;
    zl->open_handles++;
    uv_idle_init(loop, &zl->idle); /* cannot fail on Unix */
    zl->idle.data = zl;
    zl->open_handles++;
    uv_poll_start(&zl->poll, UV_READABLE, s_on_poll);
    uv_idle_start(&zl->idle, s_on_idle); /* messages may already be waiting */
    return zl;
}

int zmq_loop_send(zmq_loop *zl, const zmq_loop_frame *frames, size_t count)
{
    if (zl->closed || count == 0) {
        errno = zl->closed ? ENOTSOCK : EINVAL;
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < count ? ZMQ_SNDMORE : 0);
        /* zmq_send copies the bytes; an empty frame still needs a valid pointer */
        const void *data = frames[i].len ? frames[i].data : "";
        if (zmq_send(zl->socket, data, frames[i].len, flags) < 0) {
            /* Multipart messages are atomic: only the first frame can fail in practice. */
            rc = -1;
            break;
        }
    }
    int saved = errno;
    uv_idle_start(&zl->idle, s_on_idle);
    errno = saved;
    return rc;
}

void *zmq_loop_socket(const zmq_loop *zl)
{
    return zl->closed ? NULL : zl->socket;
}

uint64_t zmq_loop_dropped(const zmq_loop *zl)
{
    return zl->dropped;
}

void zmq_loop_close(zmq_loop **zlp, int linger_ms)
{
    if (!zlp || !*zlp)
        return;
    zmq_loop *zl = *zlp;
    *zlp = NULL;
    if (zl->closed)
        return;
    zl->closed = 1;
    uv_poll_stop(&zl->poll); /* before zmq_close: the fd belongs to the socket */
    uv_idle_stop(&zl->idle);
    zmq_setsockopt(zl->socket, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
    zmq_close(zl->socket);
    zl->socket = NULL;
    uv_close((uv_handle_t *)&zl->poll, s_on_close);
    uv_close((uv_handle_t *)&zl->idle, s_on_close);
}
