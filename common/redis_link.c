/* redis_link — one asynchronous Redis connection on the libuv loop (contract in redis_link.h).
 *
 * hiredis 0.14.1 is driven through its public ev hooks with one uv_poll_t per connection; we do
 * not use hiredis/adapters/libuv.h. The pieces:
 *
 *  - link_connection: one hiredis context + its uv_poll_t. hiredis frees the context itself on
 *    a failed connect, on EOF/IO errors, and (deferred while inside a reply callback) after
 *    redisAsyncFree. Whatever the path, it calls the ev.cleanup hook last, after every pending
 *    reply callback has run with a NULL reply. The cleanup hook is therefore our single "context
 *    is gone" signal: it closes the poll handle, and the poll's close callback frees the struct.
 *    The link never touches a context after it has detached it (link->conn = NULL).
 *  - link_command: one command, formatted once into RESP. It sits in the deadline list (ordered by
 *    deadline, swept by one timer) until its caller is answered, and additionally either in the
 *    waiting queue (not sent yet) or with hiredis (hiredis holds it as privdata). Answering the
 *    caller and freeing the struct are separate: a command that timed out while hiredis holds it
 *    stays allocated until hiredis calls back (with the late reply or NULL), then it is freed.
 *  - States: DISCONNECTED (reconnect timer armed) → CONNECTING (connect timer armed) →
 *    AUTHENTICATING (AUTH sent) → PROBING (PING sent; repeated every S_PROBE_INTERVAL_MS while
 *    Redis answers LOADING, BUSY or MASTERDOWN) → READY (waiting queue flushed, PING watchdog active).
 *    A command answered with one of those errors did not run: it goes back into the waiting queue in
 *    its issue order and the link returns to PROBING, so callers never see them as replies; a
 *    command whose deadline passes meanwhile is answered "not ready: <Redis message>".
 *  - Sentinel (options.sentinels): DISCONNECTED → (asking a Sentinel, the answer recorded in
 *    master_host/master_port) → CONNECTING → AUTHENTICATING → VERIFYING (ROLE must say "master") →
 *    PROBING → READY. The Sentinel is spoken to through a second redis_link of its own (with its
 *    deadlines and reconnects), so the whole exchange stays on the loop; a Sentinel that fails is
 *    closed and the next one is asked after the backoff.
 *  - The link is freed only from a close callback, once every timer and connection is closed, so
 *    a callback may call redis_link_close at any point without pulling the link from under us.
 * Asking the Sentinels is in redis_link_sentinel.c; the state both share is in redis_link_internal.h.
 */
#include "redis_link.h"

#include <hiredis/async.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "redis_link_internal.h"

static void s_on_reply(redisAsyncContext *ac, void *reply, void *privdata);
static void s_link_free(redis_link *link);
static void s_on_connect_timeout(uv_timer_t *timer);

/* ---- commands ---------------------------------------------------------------------------- */

/* LOADING (the dataset is being loaded), BUSY (a script runs past busy-reply-threshold),
 * MASTERDOWN (a replica lost its master): Redis did not run the command and will later. */
static bool s_is_not_ready(const redisReply *reply)
{
    if (!reply || reply->type != REDIS_REPLY_ERROR || !reply->str)
        return false;
    static const char *const prefixes[] = {"LOADING", "BUSY ", "MASTERDOWN"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(reply->str, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static void s_command_free(link_command *cmd)
{
    free(cmd->buf);
    free(cmd);
}

static void s_deadline_insert(redis_link *link, link_command *cmd)
{
    /* Almost every command has the same timeout, so the right place is nearly always the tail. */
    link_command *after = link->dl_tail;
    while (after && after->deadline > cmd->deadline)
        after = after->dl_prev;
    cmd->dl_prev = after;
    cmd->dl_next = after ? after->dl_next : link->dl_head;
    if (cmd->dl_next)
        cmd->dl_next->dl_prev = cmd;
    else
        link->dl_tail = cmd;
    if (after)
        after->dl_next = cmd;
    else
        link->dl_head = cmd;
    cmd->in_deadlines = true;
}

static void s_deadline_remove(redis_link *link, link_command *cmd)
{
    if (!cmd->in_deadlines)
        return;
    if (cmd->dl_prev)
        cmd->dl_prev->dl_next = cmd->dl_next;
    else
        link->dl_head = cmd->dl_next;
    if (cmd->dl_next)
        cmd->dl_next->dl_prev = cmd->dl_prev;
    else
        link->dl_tail = cmd->dl_prev;
    cmd->dl_prev = cmd->dl_next = NULL;
    cmd->in_deadlines = false;
}

static void s_queue_push(redis_link *link, link_command *cmd)
{
    cmd->q_next = NULL;
    cmd->q_prev = link->q_tail;
    if (link->q_tail)
        link->q_tail->q_next = cmd;
    else
        link->q_head = cmd;
    link->q_tail = cmd;
    cmd->queued = true;
    if (!cmd->internal)
        link->n_queued++;
}

/* Puts a command that was sent back into the waiting queue at its place in issue order. */
static void s_queue_insert_ordered(redis_link *link, link_command *cmd)
{
    link_command *after = link->q_tail;
    while (after && after->seq > cmd->seq)
        after = after->q_prev;
    cmd->q_prev = after;
    cmd->q_next = after ? after->q_next : link->q_head;
    if (cmd->q_next)
        cmd->q_next->q_prev = cmd;
    else
        link->q_tail = cmd;
    if (after)
        after->q_next = cmd;
    else
        link->q_head = cmd;
    cmd->queued = true;
    if (!cmd->internal)
        link->n_queued++;
}

static void s_queue_remove(redis_link *link, link_command *cmd)
{
    if (!cmd->queued)
        return;
    if (cmd->q_prev)
        cmd->q_prev->q_next = cmd->q_next;
    else
        link->q_head = cmd->q_next;
    if (cmd->q_next)
        cmd->q_next->q_prev = cmd->q_prev;
    else
        link->q_tail = cmd->q_prev;
    cmd->q_prev = cmd->q_next = NULL;
    cmd->queued = false;
    if (!cmd->internal)
        link->n_queued--;
}

/* Answers the caller once; frees the command unless hiredis still holds it. */
static void s_finish(link_command *cmd, const redisReply *reply, const char *error)
{
    redis_link *link = cmd->link;
    redis_link_reply_cb cb = cmd->cb;
    void *ud = cmd->ud;
    cmd->cb = NULL;
    s_deadline_remove(link, cmd);
    s_queue_remove(link, cmd);
    bool keep = cmd->with_hiredis;
    if (!keep)
        s_command_free(cmd);
    if (cb)
        cb(reply, error, ud);
}

/* Hands the command to hiredis on the current connection; false if there is none usable (no
 * connection, or hiredis refuses because the context is disconnecting or being freed). */
static bool s_send_now(redis_link *link, link_command *cmd)
{
    link_connection *conn = link->conn;
    if (!conn || !conn->ac)
        return false;
    if (redisAsyncFormattedCommand(conn->ac, s_on_reply, cmd, cmd->buf, cmd->len) != REDIS_OK)
        return false;
    cmd->with_hiredis = true;
    return true;
}

/* Sends when ready and nothing is waiting ahead of it, queues otherwise. */
static int s_submit(redis_link *link, link_command *cmd)
{
    if (link->state == S_READY && !link->q_head && s_send_now(link, cmd))
        return 0;
    if (!cmd->internal && link->n_queued >= S_MAX_QUEUED)
        return -1;
    s_queue_push(link, cmd);
    return 0;
}

static void s_on_sweep(uv_timer_t *timer);

static void s_arm_sweep(redis_link *link)
{
    if (link->closing || !link->dl_head)
        return;
    uint64_t now = uv_now(link->loop);
    uint64_t due = link->dl_head->deadline;
    uv_timer_start(&link->sweep_timer, s_on_sweep, due > now ? due - now : 0, 0);
}

static void s_on_sweep(uv_timer_t *timer)
{
    redis_link *link = timer->data;
    uint64_t now = uv_now(link->loop);
    /* Callbacks may add, answer or close anything: re-read the head every time. */
    char not_ready[sizeof link->not_ready + 16];
    snprintf(not_ready, sizeof not_ready, "not ready: %s", link->not_ready);
    while (!link->closing && link->dl_head && link->dl_head->deadline <= now)
        s_finish(link->dl_head, NULL, link->not_ready[0] ? not_ready : "timeout");
    s_arm_sweep(link);
}

/* Allocates a command owning buf and enters it into the deadline list. */
static link_command *s_command_new(redis_link *link, redis_link_reply_cb cb, void *ud, char *buf, size_t len,
                                   uint64_t deadline)
{
    link_command *cmd = calloc(1, sizeof *cmd);
    if (!cmd) {
        free(buf);
        return NULL;
    }
    cmd->link = link;
    cmd->cb = cb;
    cmd->ud = ud;
    cmd->buf = buf;
    cmd->len = len;
    cmd->deadline = deadline;
    cmd->seq = link->next_seq++;
    link_command *old_head = link->dl_head;
    s_deadline_insert(link, cmd);
    /* The timer is armed for the head; a removed head only makes it fire early and re-arm. */
    if (link->dl_head != old_head || !uv_is_active((uv_handle_t *)&link->sweep_timer))
        s_arm_sweep(link);
    return cmd;
}

static uint64_t s_deadline_from_now(redis_link *link)
{
    uv_update_time(link->loop); /* uv_now is cached per loop iteration and may be stale */
    return uv_now(link->loop) + link->options.command_timeout_ms;
}

/* ---- internal commands ------------------------------------------------------------------- */

static void s_enter_probing(redis_link *link, const redisReply *reply);

static void s_on_ping(const redisReply *reply, const char *error, void *ud)
{
    redis_link *link = ud;
    if (link->closing)
        return;
    link->ping_outstanding = false;
    if (error && strcmp(error, "timeout") == 0)
        rl_drop(link, "PING watchdog: no answer");
    else if (!error && link->state == S_READY && s_is_not_ready(reply))
        s_enter_probing(link, reply);
}

static void s_flush_queue(redis_link *link)
{
    while (link->q_head && link->state == S_READY) {
        link_command *cmd = link->q_head;
        s_queue_remove(link, cmd);
        if (!s_send_now(link, cmd)) {
            /* Put it back in front; the connection is going away and the cleanup reconnects. */
            cmd->q_prev = NULL;
            cmd->q_next = link->q_head;
            if (link->q_head)
                link->q_head->q_prev = cmd;
            else
                link->q_tail = cmd;
            link->q_head = cmd;
            cmd->queued = true;
            if (!cmd->internal)
                link->n_queued++;
            break;
        }
    }
}

static void s_load_script(redis_link *link, redis_script *script, bool ahead);

static void s_ready(redis_link *link)
{
    link->state = S_READY;
    link->not_ready[0] = '\0';
    /* Sentinel: this may be another server than before (a failover), and Redis 7 does not replicate
     * its script cache, so every script is loaded again ahead of the waiting commands (no NOSCRIPT
     * round trip for each script's first EVALSHA on the new master). */
    for (redis_script *script = link->scripts; script; script = script->next)
        if ((!script->sha[0] || link->n_sentinels) && !script->loading)
            s_load_script(link, script, link->n_sentinels > 0);
    s_flush_queue(link);
}

static void s_on_probe_timer(uv_timer_t *timer);

static void s_on_probe(const redisReply *reply, const char *error, void *ud)
{
    redis_link *link = ud;
    if (link->closing || link->state != S_PROBING)
        return;
    if (error) {
        if (strcmp(error, "timeout") == 0)
            rl_drop(link, "PING: no answer");
        return; /* disconnected: the cleanup reconnects */
    }
    if (s_is_not_ready(reply)) {
        s_enter_probing(link, reply);
        return;
    }
    /* PONG, or any other answer (a PING refused by an ACL): Redis serves commands. */
    s_ready(link);
}

/* PROBING: commands wait in the queue; a PING every S_PROBE_INTERVAL_MS (the first at once when
 * reply is NULL, i.e. right after AUTH) finds out when Redis serves commands again. */
static void s_enter_probing(redis_link *link, const redisReply *reply)
{
    link->state = S_PROBING;
    if (reply) {
        snprintf(link->not_ready, sizeof link->not_ready, "%s", reply->str ? reply->str : "LOADING");
        snprintf(link->last_error, sizeof link->last_error, "%s", link->not_ready);
    }
    if (!uv_is_active((uv_handle_t *)&link->probe_timer))
        uv_timer_start(&link->probe_timer, s_on_probe_timer, reply ? S_PROBE_INTERVAL_MS : 0, 0);
}

static void s_on_probe_timer(uv_timer_t *timer)
{
    redis_link *link = timer->data;
    if (link->closing || link->state != S_PROBING)
        return;
    char *buf = NULL;
    int len = redisFormatCommand(&buf, "PING");
    link_command *cmd = NULL;
    if (len > 0)
        cmd = s_command_new(link, s_on_probe, link, buf, (size_t)len, s_deadline_from_now(link));
    else
        free(buf);
    if (!cmd) {
        uv_timer_start(&link->probe_timer, s_on_probe_timer, S_PROBE_INTERVAL_MS, 0);
        return;
    }
    cmd->internal = true;
    if (!s_send_now(link, cmd))
        s_finish(cmd, NULL, "disconnected");
}

/* Connected and authenticated: from here on a slow start (Redis loading its AOF) is not a
 * connect failure, so the connect timer stops and the backoff starts over. */
static void s_on_role(const redisReply *reply, const char *error, void *ud)
{
    redis_link *link = ud;
    if (link->closing || link->state != S_VERIFYING)
        return;
    if (error) {
        if (strcmp(error, "timeout") == 0)
            rl_drop(link, "ROLE: no answer");
        return; /* disconnected: the cleanup reconnects */
    }
    bool master = reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                  reply->element[0]->type == REDIS_REPLY_STRING && strcmp(reply->element[0]->str, "master") == 0;
    if (!master) {
        /* A replica (the Sentinels' answer was stale, or a failover is under way), or ROLE refused:
         * ask the Sentinels again after the backoff. */
        char why[200];
        snprintf(why, sizeof why, "%s:%d is not a master (ROLE: %.80s)", link->master_host, link->master_port,
                 reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 && reply->element[0]->str
                     ? reply->element[0]->str
                     : (reply->str ? reply->str : "unexpected reply"));
        rl_drop(link, why);
        return;
    }
    link->backoff_ms = link->options.backoff_min_ms;
    s_enter_probing(link, NULL);
}

/* Sentinel: the node told must be a master before any command goes to it. */
static void s_verify_role(redis_link *link)
{
    link->state = S_VERIFYING;
    char *buf = NULL;
    int len = redisFormatCommand(&buf, "ROLE");
    link_command *cmd =
        len > 0 ? s_command_new(link, s_on_role, link, buf, (size_t)len, s_deadline_from_now(link)) : NULL;
    if (len <= 0)
        free(buf);
    if (!cmd) {
        /* Maybe inside hiredis's connect callback, where the context must not be freed: the connect
         * timer, fired at once, drops it. */
        snprintf(link->last_error, sizeof link->last_error, "ROLE could not be sent");
        uv_timer_start(&link->connect_timer, s_on_connect_timeout, 0, 0);
        return;
    }
    cmd->internal = true;
    if (!s_send_now(link, cmd))
        s_finish(cmd, NULL, "disconnected");
}

static void s_authenticated(redis_link *link)
{
    link->auth_error[0] = '\0';
    uv_timer_stop(&link->connect_timer);
    if (link->n_sentinels) { /* the backoff starts over once ROLE says master */
        s_verify_role(link);
        return;
    }
    link->backoff_ms = link->options.backoff_min_ms;
    s_enter_probing(link, NULL);
}

static void s_on_auth(const redisReply *reply, const char *error, void *ud)
{
    redis_link *link = ud;
    if (link->closing || link->state != S_AUTHENTICATING)
        return;
    if (error) {
        /* Timeout: the connect timer or this deadline gives up on the connection. */
        if (strcmp(error, "timeout") == 0)
            rl_drop(link, "AUTH timeout");
        return;
    }
    if (reply->type == REDIS_REPLY_STATUS) {
        s_authenticated(link);
        return;
    }
    snprintf(link->auth_error, sizeof link->auth_error, "auth failed: %s",
             reply->type == REDIS_REPLY_ERROR && reply->str ? reply->str : "unexpected reply");
    snprintf(link->last_error, sizeof link->last_error, "%s", link->auth_error);
    /* Inside a hiredis reply callback: redisAsyncFree is deferred by hiredis until we return. */
    rl_drop(link, link->auth_error);
    /* Waiting commands cannot succeed with these credentials: fail them now rather than at their
     * deadlines. Callbacks may close the link; stop then. */
    char error_copy[sizeof link->auth_error];
    snprintf(error_copy, sizeof error_copy, "%s", link->auth_error);
    while (!link->closing && link->q_head) {
        link_command *cmd = link->q_head;
        s_finish(cmd, NULL, error_copy);
    }
}

/* ---- connection and ev hooks ------------------------------------------------------------- */

static void s_on_poll_closed(uv_handle_t *handle);

static void s_on_poll(uv_poll_t *handle, int status, int events)
{
    link_connection *conn = handle->data;
    if (status < 0)
        events = UV_READABLE | UV_WRITABLE; /* hiredis finds the socket error itself */
    if (conn->ac && (events & UV_READABLE))
        redisAsyncHandleRead(conn->ac);
    if (conn->ac && (events & UV_WRITABLE))
        redisAsyncHandleWrite(conn->ac);
}

static void s_ev_set(link_connection *conn, int events)
{
    if (events == conn->events && events != 0)
        return; /* polled for these already: hiredis asks again on every command */
    conn->events = events;
    if (uv_is_closing((uv_handle_t *)&conn->poll))
        return;
    if (events)
        uv_poll_start(&conn->poll, events, s_on_poll);
    else
        uv_poll_stop(&conn->poll);
}

static void s_ev_add_read(void *data)
{
    link_connection *conn = data;
    s_ev_set(conn, conn->events | UV_READABLE);
}

static void s_ev_del_read(void *data)
{
    link_connection *conn = data;
    s_ev_set(conn, conn->events & ~UV_READABLE);
}

static void s_ev_add_write(void *data)
{
    link_connection *conn = data;
    s_ev_set(conn, conn->events | UV_WRITABLE);
}

static void s_ev_del_write(void *data)
{
    link_connection *conn = data;
    s_ev_set(conn, conn->events & ~UV_WRITABLE);
}

static void s_connection_lost(redis_link *link, const char *why)
{
    link->conn = NULL;
    link->state = S_DISCONNECTED;
    link->ping_outstanding = false;
    link->not_ready[0] = '\0';
    uv_timer_stop(&link->probe_timer);
    if (why && why != link->last_error)
        snprintf(link->last_error, sizeof link->last_error, "%s", why);
    if (!link->closing) {
        uv_timer_stop(&link->connect_timer);
        rl_schedule_reconnect(link);
    }
}

/* hiredis is about to free the context (the last hook it calls). */
static void s_ev_cleanup(void *data)
{
    link_connection *conn = data;
    redis_link *link = conn->link;
    const char *why = conn->ac && conn->ac->errstr[0] ? conn->ac->errstr : "connection closed";
    char why_copy[128];
    snprintf(why_copy, sizeof why_copy, "%s", why);
    conn->ac = NULL;
    conn->events = 0;
    uv_poll_stop(&conn->poll);
    uv_close((uv_handle_t *)&conn->poll, s_on_poll_closed);
    if (link->conn == conn)
        s_connection_lost(link, why_copy);
}

static void s_on_poll_closed(uv_handle_t *handle)
{
    link_connection *conn = handle->data;
    redis_link *link = conn->link;
    free(conn);
    link->n_connections--;
    if (link->closing && link->n_connections == 0 && link->open_timers == 0)
        s_link_free(link);
}

/* Detaches the current connection and lets hiredis free it (at once, or after the reply callback
 * we are in returns). Pending commands get their NULL-reply callbacks from hiredis. */
void rl_drop(redis_link *link, const char *why)
{
    link_connection *conn = link->conn;
    if (!conn)
        return;
    redisAsyncContext *ac = conn->ac;
    s_connection_lost(link, why);
    if (ac)
        redisAsyncFree(ac);
}

/* hiredis's connect callback: not inside IN_CALLBACK, so the context must not be freed here. */
static void s_on_connect(const redisAsyncContext *ac, int status)
{
    link_connection *conn = ac->ev.data;
    redis_link *link = conn->link;
    if (link->conn != conn)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context right after this callback returns. */
        s_connection_lost(link, ac->errstr[0] ? ac->errstr : "connect failed");
        return;
    }
    if (!link->password) {
        s_authenticated(link);
        return;
    }
    char *buf = NULL;
    int len = link->username ? redisFormatCommand(&buf, "AUTH %s %s", link->username, link->password)
                             : redisFormatCommand(&buf, "AUTH %s", link->password);
    link_command *cmd =
        len > 0 ? s_command_new(link, s_on_auth, link, buf, (size_t)len, s_deadline_from_now(link)) : NULL;
    link->state = S_AUTHENTICATING;
    if (cmd) {
        cmd->internal = true;
        if (s_send_now(link, cmd))
            return;
        s_finish(cmd, NULL, "disconnected");
    } else if (len <= 0) {
        free(buf);
    }
    /* Not from here: hiredis goes on using the context after this callback returns, so freeing it
     * now would pull it from under hiredis. The connect timer, fired at once, drops it. */
    snprintf(link->last_error, sizeof link->last_error, "AUTH could not be sent");
    uv_timer_start(&link->connect_timer, s_on_connect_timeout, 0, 0);
}

static void s_on_connect_timeout(uv_timer_t *timer)
{
    redis_link *link = timer->data;
    if (link->conn && link->state != S_READY)
        rl_drop(link, "connect timeout");
}

static uint32_t s_random(redis_link *link)
{
    uint64_t x = link->random_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    link->random_state = x;
    return (uint32_t)(x >> 32);
}

static void s_on_reconnect(uv_timer_t *timer);

void rl_schedule_reconnect(redis_link *link)
{
    if (link->closing)
        return;
    /* "Equal jitter": somewhere between half the current backoff and all of it. */
    uint32_t backoff = link->backoff_ms;
    uint32_t half = backoff / 2;
    uint32_t delay = half + (backoff - half ? s_random(link) % (backoff - half + 1) : 0);
    uint64_t next = (uint64_t)backoff * 2;
    link->backoff_ms = next > link->options.backoff_max_ms ? link->options.backoff_max_ms : (uint32_t)next;
    uv_timer_start(&link->reconnect_timer, s_on_reconnect, delay, 0);
}

void rl_connect(redis_link *link)
{
    link->connection_id++;
    redisAsyncContext *ac = link->n_sentinels ? redisAsyncConnect(link->master_host, link->master_port)
                            : link->unix_path ? redisAsyncConnectUnix(link->unix_path)
                                              : redisAsyncConnect(link->host, link->options.port);
    if (!ac) {
        snprintf(link->last_error, sizeof link->last_error, "out of memory");
        rl_schedule_reconnect(link);
        return;
    }
    if (ac->err) {
        snprintf(link->last_error, sizeof link->last_error, "%s", ac->errstr);
        redisAsyncFree(ac); /* no ev hooks yet: freed at once */
        rl_schedule_reconnect(link);
        return;
    }
    link_connection *conn = calloc(1, sizeof *conn);
    if (!conn || uv_poll_init(link->loop, &conn->poll, ac->c.fd) != 0) {
        free(conn);
        snprintf(link->last_error, sizeof link->last_error, "cannot poll the socket");
        redisAsyncFree(ac);
        rl_schedule_reconnect(link);
        return;
    }
    conn->link = link;
    conn->ac = ac;
    conn->poll.data = conn;
    link->n_connections++;
    ac->ev.data = conn;
    ac->ev.addRead = s_ev_add_read;
    ac->ev.delRead = s_ev_del_read;
    ac->ev.addWrite = s_ev_add_write;
    ac->ev.delWrite = s_ev_del_write;
    ac->ev.cleanup = s_ev_cleanup;
    link->conn = conn;
    link->state = S_CONNECTING;
    uv_timer_start(&link->connect_timer, s_on_connect_timeout, link->options.connect_timeout_ms, 0);
    /* Must come after the hooks: it arms the first write event, which reports the connect. */
    redisAsyncSetConnectCallback(ac, s_on_connect);
}

static void s_on_reconnect(uv_timer_t *timer)
{
    redis_link *link = timer->data;
    if (link->closing || link->conn)
        return;
    if (link->n_sentinels)
        rl_ask_sentinel(link, true);
    else
        rl_connect(link);
}

static void s_on_ping_timer(uv_timer_t *timer)
{
    redis_link *link = timer->data;
    if (!link->closing && link->state == S_READY && link->n_sentinels)
        rl_ask_sentinel(link, false); /* a failover drops the connection at once, not at the next error */
    if (link->closing || link->state != S_READY || link->ping_outstanding)
        return;
    char *buf = NULL;
    int len = redisFormatCommand(&buf, "PING");
    if (len <= 0)
        return;
    link_command *cmd = s_command_new(link, s_on_ping, link, buf, (size_t)len, s_deadline_from_now(link));
    if (!cmd)
        return;
    cmd->internal = true;
    if (s_send_now(link, cmd))
        link->ping_outstanding = true;
    else
        s_finish(cmd, NULL, "disconnected");
}

/* ---- replies ----------------------------------------------------------------------------- */

/* A write sent to a replica (the master was demoted, or a script's write met it): it did not run. */
static bool s_is_readonly(const redisReply *reply)
{
    return reply && reply->type == REDIS_REPLY_ERROR && reply->str &&
           (strncmp(reply->str, "READONLY", 8) == 0 || strstr(reply->str, "-READONLY") != NULL);
}

static bool s_is_noscript(const redisReply *reply)
{
    return reply && reply->type == REDIS_REPLY_ERROR && reply->str && strncmp(reply->str, "NOSCRIPT", 8) == 0;
}

static void s_on_reply(redisAsyncContext *ac, void *reply_ptr, void *privdata)
{
    (void)ac;
    link_command *cmd = privdata;
    const redisReply *reply = reply_ptr;
    redis_link *link = cmd->link;
    cmd->with_hiredis = false;
    if (!cmd->cb) { /* answered already (timeout or close): discard the late reply */
        s_command_free(cmd);
        return;
    }
    if (!reply) {
        s_finish(cmd, NULL, link->closing ? "closed" : "disconnected");
        return;
    }
    if (s_is_not_ready(reply) && !cmd->internal && !link->closing) {
        uv_update_time(link->loop);
        if (cmd->deadline > uv_now(link->loop)) {
            /* It did not run: wait for Redis in the queue, then resend in issue order (a script
             * may meet NOSCRIPT again after a restart, and may load itself again). */
            cmd->retried = false;
            s_queue_insert_ordered(link, cmd);
            if (link->state == S_READY)
                s_enter_probing(link, reply);
            return;
        }
        char error[sizeof link->not_ready + 16];
        snprintf(error, sizeof error, "not ready: %.150s", reply->str);
        s_finish(cmd, NULL, error);
        return;
    }
    if (link->n_sentinels && s_is_readonly(reply) && !cmd->internal && !link->closing) {
        uv_update_time(link->loop);
        if (cmd->deadline > uv_now(link->loop)) {
            /* Not run: keep it, leave the replica and resend it to the master the Sentinels name. */
            char why[256];
            snprintf(why, sizeof why, "%s:%d: %.120s", link->master_host, link->master_port, reply->str);
            cmd->retried = false;
            s_queue_insert_ordered(link, cmd);
            rl_drop(link, why);
            return;
        }
    }
    if (cmd->script && !cmd->retried && s_is_noscript(reply) && !link->closing) {
        /* Redis lost the script (a restart): SCRIPT LOAD, then the same EVALSHA on this connection. */
        cmd->retried = true;
        s_load_script(link, cmd->script, false);
        if (s_submit(link, cmd) == 0)
            return;
    }
    s_finish(cmd, reply, NULL);
}

/* ---- public API -------------------------------------------------------------------------- */

void redis_link_options_default(redis_link_options *options)
{
    memset(options, 0, sizeof *options);
    options->host = "127.0.0.1";
    options->port = 6379;
    options->connect_timeout_ms = 1000;
    options->command_timeout_ms = 2000;
    options->ping_interval_ms = 1000;
    options->backoff_min_ms = 50;
    options->backoff_max_ms = 2000;
    options->master_name = "metodnet";
    options->wait_timeout_ms = 1000;
}

static char *s_strdup_or_null(const char *s, bool *failed)
{
    if (!s)
        return NULL;
    char *copy = strdup(s);
    if (!copy)
        *failed = true;
    return copy;
}

static void s_link_free(redis_link *link)
{
    redis_script *script = link->scripts;
    while (script) {
        redis_script *next = script->next;
        free(script->source);
        free(script);
        script = next;
    }
    free(link->host);
    free(link->unix_path);
    free(link->username);
    free(link->password);
    free(link->sentinels_text);
    free(link->master_name);
    free(link->sentinel_username);
    free(link->sentinel_password);
    free(link);
}

/* Just before the loop waits for I/O: commands issued during this turn are written now rather than
 * after a round of polling for writability (one loop turn, two epoll_ctl calls less per command
 * batch; what the turn issued still goes out in one write). Only on a connected context: hiredis
 * takes a write on a connection in progress for its connect. */
static void s_on_flush(uv_prepare_t *prepare)
{
    redis_link *link = prepare->data;
    link_connection *conn = link->conn;
    if (conn && conn->ac && (conn->events & UV_WRITABLE) && (conn->ac->c.flags & REDIS_CONNECTED))
        redisAsyncHandleWrite(conn->ac);
}

static void s_on_timer_closed(uv_handle_t *handle)
{
    redis_link *link = handle->data;
    link->open_timers--;
    if (link->closing && link->n_connections == 0 && link->open_timers == 0)
        s_link_free(link);
}

redis_link *redis_link_new(uv_loop_t *loop, const redis_link_options *options)
{
    redis_link_options defaults;
    redis_link_options_default(&defaults);
    if (!options)
        options = &defaults;
    redis_link *link = calloc(1, sizeof *link);
    if (!link)
        return NULL;
    link->loop = loop;
    link->options = *options;
    redis_link_options *o = &link->options;
    if (!o->port)
        o->port = defaults.port;
    if (!o->connect_timeout_ms)
        o->connect_timeout_ms = defaults.connect_timeout_ms;
    if (!o->command_timeout_ms)
        o->command_timeout_ms = defaults.command_timeout_ms;
    if (!o->ping_interval_ms)
        o->ping_interval_ms = defaults.ping_interval_ms;
    if (!o->backoff_min_ms)
        o->backoff_min_ms = defaults.backoff_min_ms;
    if (o->backoff_max_ms < o->backoff_min_ms)
        o->backoff_max_ms = o->backoff_min_ms;
    bool failed = false;
    link->host = s_strdup_or_null(options->host ? options->host : defaults.host, &failed);
    link->unix_path = s_strdup_or_null(options->unix_path, &failed);
    link->username = s_strdup_or_null(options->username, &failed);
    link->password = s_strdup_or_null(options->password, &failed);
    link->sentinels_text = s_strdup_or_null(options->sentinels, &failed);
    link->master_name = s_strdup_or_null(options->master_name ? options->master_name : defaults.master_name, &failed);
    link->sentinel_username = s_strdup_or_null(options->sentinel_username, &failed);
    link->sentinel_password = s_strdup_or_null(options->sentinel_password, &failed);
    if (!o->wait_timeout_ms)
        o->wait_timeout_ms = defaults.wait_timeout_ms;
    if (!failed && options->sentinels && !rl_parse_sentinels(link, options->sentinels))
        failed = true;
    if (failed) {
        s_link_free(link);
        return NULL;
    }
    o->host = link->host;
    o->unix_path = link->unix_path;
    o->username = link->username;
    o->password = link->password;
    o->sentinels = link->sentinels_text;
    o->master_name = link->master_name;
    o->sentinel_username = link->sentinel_username;
    o->sentinel_password = link->sentinel_password;
    link->backoff_ms = o->backoff_min_ms;
    link->random_state = uv_hrtime() ^ (uint64_t)(uintptr_t)link ^ 0x9e3779b97f4a7c15ull;
    if (!link->random_state)
        link->random_state = 1;

    uv_timer_t *timers[] = {&link->reconnect_timer, &link->connect_timer, &link->sweep_timer, &link->ping_timer,
                            &link->probe_timer};
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++) {
        uv_timer_init(loop, timers[i]);
        timers[i]->data = link;
        link->open_timers++;
    }
    uv_timer_start(&link->ping_timer, s_on_ping_timer, o->ping_interval_ms, o->ping_interval_ms);
    uv_prepare_init(loop, &link->flush);
    link->flush.data = link;
    link->open_timers++;
    uv_prepare_start(&link->flush, s_on_flush);
    uv_unref((uv_handle_t *)&link->flush); /* it never keeps a loop alive on its own */
    if (link->n_sentinels)
        rl_ask_sentinel(link, true);
    else
        rl_connect(link);
    return link;
}

static int s_issue(redis_link *link, redis_link_reply_cb cb, void *ud, char *buf, int len, redis_script *script)
{
    if (len <= 0) {
        free(buf);
        return -1;
    }
    if (!link || link->closing || !cb) {
        free(buf);
        return -1;
    }
    link_command *cmd = s_command_new(link, cb, ud, buf, (size_t)len, s_deadline_from_now(link));
    if (!cmd)
        return -1;
    cmd->script = script;
    if (s_submit(link, cmd) != 0) {
        s_deadline_remove(link, cmd);
        s_command_free(cmd);
        return -1;
    }
    return 0;
}

/* Decimal digits of v at out; returns how many. */
static size_t s_utoa(char *out, size_t v)
{
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = digits[n - 1 - i];
    return n;
}

int redis_link_format_argv(char **out, int argc, const char **argv, const size_t *argvlen)
{
    *out = NULL;
    size_t total = 1 + 20 + 2; /* "*<argc>\r\n" */
    for (int i = 0; i < argc; i++)
        total += 1 + 20 + 2 + (argvlen ? argvlen[i] : strlen(argv[i])) + 2;
    if (total > INT_MAX)
        return -1;
    char *buf = malloc(total + 1);
    if (!buf)
        return -1;
    char *p = buf;
    *p++ = '*';
    p += s_utoa(p, (size_t)argc);
    *p++ = '\r';
    *p++ = '\n';
    for (int i = 0; i < argc; i++) {
        size_t len = argvlen ? argvlen[i] : strlen(argv[i]);
        *p++ = '$';
        p += s_utoa(p, len);
        *p++ = '\r';
        *p++ = '\n';
        memcpy(p, argv[i], len);
        p += len;
        *p++ = '\r';
        *p++ = '\n';
    }
    *p = '\0';
    *out = buf;
    return (int)(p - buf);
}

int redis_link_command(redis_link *link, redis_link_reply_cb cb, void *ud, int argc, const char **argv,
                       const size_t *argvlen)
{
    if (!link || argc <= 0 || !argv)
        return -1;
    char *buf = NULL;
    int len = redis_link_format_argv(&buf, argc, argv, argvlen);
    return s_issue(link, cb, ud, buf, len, NULL);
}

int redis_link_commandf(redis_link *link, redis_link_reply_cb cb, void *ud, const char *format, ...)
{
    if (!link || !format)
        return -1;
    char *buf = NULL;
    va_list ap;
    va_start(ap, format);
    int len = redisvFormatCommand(&buf, format, ap);
    va_end(ap);
    return s_issue(link, cb, ud, buf, len, NULL);
}

static void s_on_script_loaded(const redisReply *reply, const char *error, void *ud)
{
    redis_script *script = ud;
    script->loading = false;
    if (error || !reply || reply->type != REDIS_REPLY_STRING || reply->len != 40)
        return; /* tried again when the link is next ready; EVAL runs the script meanwhile */
    for (size_t i = 0; i < 40; i++)
        if (!((reply->str[i] >= '0' && reply->str[i] <= '9') || (reply->str[i] >= 'a' && reply->str[i] <= 'f')))
            return;
    memcpy(script->sha, reply->str, 40);
    script->sha[40] = '\0';
}

/* SCRIPT LOAD: Redis compiles the script and tells its SHA1, so we need no hash of our own. ahead:
 * sent at once on a ready link, before the commands waiting in the queue. */
static void s_load_script(redis_link *link, redis_script *script, bool ahead)
{
    char *buf = NULL;
    int len = redisFormatCommand(&buf, "SCRIPT LOAD %b", script->source, script->len);
    link_command *cmd = NULL;
    if (len > 0)
        cmd = s_command_new(link, s_on_script_loaded, script, buf, (size_t)len, s_deadline_from_now(link));
    else
        free(buf);
    if (!cmd)
        return;
    cmd->internal = true;
    script->loading = true;
    if (ahead && link->state == S_READY && s_send_now(link, cmd))
        return;
    if (s_submit(link, cmd) != 0)
        s_finish(cmd, NULL, "closed");
}

redis_script *redis_link_script(redis_link *link, const char *lua_source)
{
    if (!link || !lua_source || link->closing)
        return NULL;
    size_t len = strlen(lua_source);
    for (redis_script *s = link->scripts; s; s = s->next)
        if (s->len == len && memcmp(s->source, lua_source, len) == 0)
            return s;
    redis_script *script = calloc(1, sizeof *script);
    if (!script)
        return NULL;
    script->source = malloc(len + 1);
    if (!script->source) {
        free(script);
        return NULL;
    }
    memcpy(script->source, lua_source, len + 1);
    script->len = len;
    script->next = link->scripts;
    link->scripts = script;
    s_load_script(link, script, false);
    return script;
}

const char *redis_link_script_sha(const redis_script *script)
{
    return script ? script->sha : NULL;
}

int redis_link_evalsha(redis_link *link, redis_script *script, int numkeys, int argc, const char **argv,
                       const size_t *argvlen, redis_link_reply_cb cb, void *ud)
{
    if (!link || !script || numkeys < 0 || argc < numkeys || (argc > 0 && !argv) || argc > 1000000)
        return -1;
    const char **full = malloc(sizeof *full * ((size_t)argc + 3));
    size_t *full_len = malloc(sizeof *full_len * ((size_t)argc + 3));
    if (!full || !full_len) {
        free(full);
        free(full_len);
        return -1;
    }
    char numkeys_text[16];
    snprintf(numkeys_text, sizeof numkeys_text, "%d", numkeys);
    bool by_sha = script->sha[0] != '\0'; /* until SCRIPT LOAD has answered: EVAL with the source */
    full[0] = by_sha ? "EVALSHA" : "EVAL";
    full_len[0] = by_sha ? 7 : 4;
    full[1] = by_sha ? script->sha : script->source;
    full_len[1] = by_sha ? 40 : script->len;
    full[2] = numkeys_text;
    full_len[2] = strlen(numkeys_text);
    for (int i = 0; i < argc; i++) {
        full[3 + i] = argv[i];
        full_len[3 + i] = argvlen ? argvlen[i] : strlen(argv[i]);
    }
    char *buf = NULL;
    int len = redis_link_format_argv(&buf, argc + 3, full, full_len);
    free(full);
    free(full_len);
    return s_issue(link, cb, ud, buf, len, script);
}

bool redis_link_connected(const redis_link *link)
{
    return link && link->state == S_READY;
}

const char *redis_link_not_ready(const redis_link *link)
{
    return link && link->state == S_PROBING && link->not_ready[0] ? link->not_ready : NULL;
}

uint64_t redis_link_connection_id(const redis_link *link)
{
    return link ? link->connection_id : 0;
}

const redis_link_options *redis_link_get_options(const redis_link *link)
{
    return link ? &link->options : NULL;
}

const char *redis_link_last_error(const redis_link *link)
{
    return link && link->last_error[0] ? link->last_error : NULL;
}

void redis_link_close(redis_link **link_ptr)
{
    if (!link_ptr || !*link_ptr)
        return;
    redis_link *link = *link_ptr;
    *link_ptr = NULL;
    if (link->closing)
        return;
    link->closing = true;
    /* Answer everyone first; in-flight commands stay allocated until hiredis lets go of them. */
    while (link->dl_head)
        s_finish(link->dl_head, NULL, "closed");
    while (link->q_head) /* defensive: every queued command is also in the deadline list */
        s_finish(link->q_head, NULL, "closed");
    redis_link_close(&link->sentinel); /* its answer, if one is awaited, comes now as "closed" */
    link_connection *conn = link->conn;
    link->conn = NULL;
    link->state = S_DISCONNECTED;
    if (conn && conn->ac)
        redisAsyncFree(conn->ac); /* deferred by hiredis when called from a reply callback */
    uv_timer_t *timers[] = {&link->reconnect_timer, &link->connect_timer, &link->sweep_timer, &link->ping_timer,
                            &link->probe_timer};
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++) {
        uv_timer_stop(timers[i]);
        uv_close((uv_handle_t *)timers[i], s_on_timer_closed);
    }
    uv_prepare_stop(&link->flush);
    uv_close((uv_handle_t *)&link->flush, s_on_timer_closed);
}
