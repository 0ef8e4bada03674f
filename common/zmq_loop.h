/* zmq_loop — one ZeroMQ socket driven by a libuv loop through a uv_poll_t on its ZMQ_FD.
 *
 * ZMQ_FD is edge-triggered: it signals only when the socket's event state changes, and a send can
 * consume the edge of an incoming message. So the socket is drained (messages read while ZMQ_EVENTS
 * reports ZMQ_POLLIN) after every poll callback, and after every send a drain is scheduled on a
 * uv_idle_t (it runs before the loop next blocks; draining inside the send would call the message
 * callback re-entrantly from the caller's stack).
 *
 * Invariants: the message callback is never re-entered; it may send on this socket and may close it
 * (the drain stops at once). Closing stops the uv_poll before zmq_close, then closes the uv handles;
 * the structure is freed in the last close callback, so the loop must run once more after closing.
 */
#ifndef METODNET_ZMQ_LOOP_H
#define METODNET_ZMQ_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <zmq.h>

/* Messages with more frames than this are dropped whole and counted in zmq_loop_dropped(). */
#define ZMQ_LOOP_MAX_FRAMES 32

typedef struct zmq_loop zmq_loop;

/* One whole multipart message. frames are owned by zmq_loop and closed after the callback returns;
 * the callback may zmq_msg_move() a frame out to keep it. count is 1..ZMQ_LOOP_MAX_FRAMES. */
typedef void (*zmq_loop_message_cb)(zmq_loop *zl, zmq_msg_t *frames, size_t count, void *ud);

/* A frame to send: data is borrowed for the duration of zmq_loop_send(). */
typedef struct {
    const void *data;
    size_t len;
} zmq_loop_frame;

/* Takes ownership of socket (it is closed by zmq_loop_close, also on failure here). Returns NULL
 * (errno set) when the socket has no usable ZMQ_FD or the uv handles cannot be set up. */
zmq_loop *zmq_loop_new(uv_loop_t *loop, void *socket, zmq_loop_message_cb cb, void *ud);

/* Sends one multipart message without blocking (ZMQ_DONTWAIT). Returns 0, or -1 with errno from
 * zmq_send (EHOSTUNREACH for an unknown ROUTER peer with ZMQ_ROUTER_MANDATORY, EAGAIN at the
 * high-water mark, ENOTSOCK after close). Schedules a drain either way. */
int zmq_loop_send(zmq_loop *zl, const zmq_loop_frame *frames, size_t count);

/* The underlying socket (borrowed), for setsockopt/getsockopt; NULL after close. */
void *zmq_loop_socket(const zmq_loop *zl);

/* Messages dropped because they had more than ZMQ_LOOP_MAX_FRAMES frames. */
uint64_t zmq_loop_dropped(const zmq_loop *zl);

/* Stops polling, sets ZMQ_LINGER to linger_ms (queued outgoing messages get that long to leave),
 * closes the socket and the uv handles; frees the structure in the close callback. *zl = NULL.
 * Safe to call from inside the message callback. NULL or *zl == NULL is a no-op. */
void zmq_loop_close(zmq_loop **zl, int linger_ms);

#endif
