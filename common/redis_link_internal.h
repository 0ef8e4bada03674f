/* redis_link_internal — what redis_link.c (commands, connection, replies) and redis_link_sentinel.c
 * (finding the master through Sentinel) share: the link's state and the few calls between them. Not
 * an API: users of the link include redis_link.h. */
#ifndef METODNET_REDIS_LINK_INTERNAL_H
#define METODNET_REDIS_LINK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <hiredis/async.h>
#include <uv.h>

#include "redis_link.h"

#define S_MAX_QUEUED        100000
#define S_PROBE_INTERVAL_MS 100

typedef struct link_command link_command;
typedef struct link_connection link_connection;

typedef enum { S_DISCONNECTED, S_CONNECTING, S_AUTHENTICATING, S_VERIFYING, S_PROBING, S_READY } link_state;

#define S_MAX_SENTINELS       16
#define S_SENTINEL_TIMEOUT_MS 500

struct link_command {
    redis_link *link;
    redis_link_reply_cb cb; /* NULL once the caller has been answered */
    void *ud;
    char *buf; /* formatted RESP, owned */
    size_t len;
    uint64_t deadline;    /* uv_now() milliseconds */
    uint64_t seq;         /* issue order, kept when a not-ready reply puts it back in the queue */
    redis_script *script; /* EVALSHA: load and retry once on NOSCRIPT */
    bool retried;
    bool internal;     /* AUTH/PING/SCRIPT LOAD: not counted against the queue bound */
    bool with_hiredis; /* hiredis holds it as privdata and will call s_on_reply exactly once */
    bool queued;       /* in the waiting queue */
    bool in_deadlines;
    link_command *dl_prev, *dl_next;
    link_command *q_prev, *q_next;
};

struct link_connection {
    redis_link *link;
    redisAsyncContext *ac; /* NULL once hiredis has called the cleanup hook */
    uv_poll_t poll;
    int events;
};

struct redis_script {
    redis_script *next;
    char sha[41]; /* from SCRIPT LOAD's reply; "" until Redis has told it (EVAL is sent meanwhile) */
    bool loading; /* a SCRIPT LOAD is in flight */
    char *source;
    size_t len;
};

struct redis_link {
    uv_loop_t *loop;
    redis_link_options options;
    char *host, *unix_path, *username, *password;

    link_state state;
    link_connection *conn; /* the current connection, NULL when disconnected */
    size_t n_connections;  /* allocated, including ones being torn down */

    uv_timer_t reconnect_timer, connect_timer, sweep_timer, ping_timer, probe_timer;
    uv_prepare_t flush; /* writes what hiredis holds before the loop waits (s_on_flush) */
    int open_timers;    /* the timers and flush not closed yet */
    bool closing;

    uint32_t backoff_ms;
    uint64_t random_state;
    bool ping_outstanding;
    char auth_error[256];
    char last_error[256];
    char not_ready[160]; /* Redis's LOADING/BUSY/MASTERDOWN message while PROBING, else "" */
    uint64_t next_seq;

    link_command *dl_head, *dl_tail; /* every unanswered command, by deadline */
    link_command *q_head, *q_tail;   /* waiting to be sent, in issue order */
    size_t n_queued;

    redis_script *scripts;

    /* Sentinel (options.sentinels): the Sentinels, the one asked now, and what it said. */
    char *sentinels_text, *master_name, *sentinel_username, *sentinel_password;
    char sentinel_hosts[S_MAX_SENTINELS][48];
    int sentinel_ports[S_MAX_SENTINELS];
    size_t n_sentinels, sentinel_index;
    redis_link *sentinel;   /* link to sentinel_hosts[sentinel_index], NULL when none is open */
    bool asking;            /* a get-master-addr-by-name is in flight */
    bool connect_when_told; /* a (re)connect waits for the Sentinel's answer */
    char master_host[48];
    int master_port;
    uint64_t connection_id;
};

/* ---- redis_link.c ---- */
/* Connects now (to the fixed address, or to the master the Sentinel named). */
void rl_connect(redis_link *link);
/* A reconnect after the backoff. */
void rl_schedule_reconnect(redis_link *link);
/* Drops the current connection (its commands fail "disconnected"), why kept for the logs. */
void rl_drop(redis_link *link, const char *why);

/* ---- redis_link_sentinel.c ---- */
/* "ip:port,ip:port,..." into link->sentinel_hosts/ports; false when an item is not an IP address
 * with a port, or there are more than S_MAX_SENTINELS. */
bool rl_parse_sentinels(redis_link *link, const char *text);
/* Asks the current Sentinel where the master is. for_connect: connect once told; otherwise (the
 * periodic check) a different answer drops the connection. */
void rl_ask_sentinel(redis_link *link, bool for_connect);

#endif
