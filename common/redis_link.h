/* redis_link — one asynchronous connection to Redis on the libuv loop, built on hiredis 0.14.1's
 * public ev hooks (not its adapters/libuv.h, which hangs forever on a refused connection).
 *
 * Contract:
 *  - Every command has a deadline (options.command_timeout_ms). Its callback is called exactly once:
 *    with the reply, or with reply NULL and an error string: "timeout" (deadline passed),
 *    "disconnected" (the connection dropped after it was sent; it is not resent, it may or may not
 *    have run), "closed" (redis_link_close), "auth failed: <server message>" (AUTH was refused),
 *    "not ready: <server message>" (the deadline passed while Redis answered LOADING, BUSY or
 *    MASTERDOWN; the command did not run).
 *  - LOADING, BUSY and MASTERDOWN are never replies: Redis did not run the command, so the link keeps
 *    it, waits (a PING every 100 ms) and sends it again in issue order when Redis serves commands.
 *    A reply that arrives after its deadline is discarded.
 *  - Commands issued while disconnected wait for the reconnect, within their own deadline.
 *  - Reconnects use exponential backoff with jitter between backoff_min_ms and backoff_max_ms.
 *  - A PING watchdog every ping_interval_ms: no answer within command_timeout_ms drops the connection
 *    and reconnects (a half-open TCP connection is found out).
 *  - AUTH (username+password for ACL users, or password alone) is sent first on every connection.
 *  - Scripts are registered once (SCRIPT LOAD) and run by EVALSHA; NOSCRIPT loads the script and
 *    retries once.
 *  - Sentinel (options.sentinels set): before every connect the link asks a Sentinel
 *    `SENTINEL get-master-addr-by-name <master_name>` (the Sentinels in turn: one that does not answer
 *    within 500 ms or does not know the master is passed over for the next), connects to the address
 *    told, and after AUTH checks with ROLE that the node is a master (a replica is dropped and the
 *    Sentinel asked again). While ready it asks again every ping_interval_ms and drops the connection
 *    at once when the Sentinels name another master (a failover). A READONLY error (a master demoted
 *    to replica under us) did not run the command: the link keeps it, as with LOADING, drops the
 *    connection and resends it to the master the Sentinel names, within the command's deadline.
 */
#ifndef METODNET_REDIS_LINK_H
#define METODNET_REDIS_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <hiredis/hiredis.h>

typedef struct redis_link redis_link;
typedef struct redis_script redis_script;

typedef struct {
    const char *host;            /* default "127.0.0.1"; an IP address (a name would be resolved by a
                              * blocking lookup); ignored when unix_path is set */
    int port;                    /* default 6379 */
    const char *unix_path;       /* NULL = TCP */
    const char *username;        /* ACL user, NULL = default user */
    const char *password;        /* NULL = no AUTH */
    uint32_t connect_timeout_ms; /* default 1000 */
    uint32_t command_timeout_ms; /* default 2000 */
    uint32_t ping_interval_ms;   /* default 1000 */
    uint32_t backoff_min_ms;     /* default 50 */
    uint32_t backoff_max_ms;     /* default 2000 */
    /* Sentinel: "ip:port,ip:port,..." (IP addresses, see host); NULL = the fixed address above. When set,
     * host, port and unix_path are not used: the master is the one the Sentinels name. */
    const char *sentinels;
    const char *master_name;       /* the master's name in the Sentinels' configuration, default "metodnet" */
    const char *sentinel_username; /* AUTH to the Sentinels (their own users), NULL = none */
    const char *sentinel_password; /* NULL = no AUTH to the Sentinels */
    /* Durability asked of writes that must not be lost (entity_store): WAIT <wait_replicas>
     * <wait_timeout_ms> after each; 0 = no WAIT. The link only keeps the setting for its users. */
    uint32_t wait_replicas;
    uint32_t wait_timeout_ms; /* default 1000 */
} redis_link_options;

/* True when text is a valid options.sentinels list ("ip:port" items, comma-separated, at most 16). */
bool redis_link_sentinels_valid(const char *text);

void redis_link_options_default(redis_link_options *options);

/* reply is borrowed for the duration of the call (NULL on failure); error is borrowed, NULL on
 * success. A Redis error reply (REDIS_REPLY_ERROR) is a reply, not an error. */
typedef void (*redis_link_reply_cb)(const redisReply *reply, const char *error, void *ud);

/* Strings in options are copied. Connecting starts at once; a refused connection is retried with
 * backoff and reported through the callbacks of waiting commands when their deadlines pass. */
redis_link *redis_link_new(uv_loop_t *loop, const redis_link_options *options);

/* argv/argvlen are copied (argvlen NULL = strlen). Returns 0, or -1 (callback not called) when the
 * link is closing, the waiting queue is full (100000 commands), or the command cannot be formatted.
 * The callback is never called from inside the call. Not for SUBSCRIBE/MONITOR (one reply per
 * command is assumed). */
int redis_link_command(redis_link *link, redis_link_reply_cb cb, void *ud, int argc, const char **argv,
                       const size_t *argvlen);
/* printf-style like redisAsyncCommand (%s, %b with pointer + size_t length, %d/%lld ...). */
int redis_link_commandf(redis_link *link, redis_link_reply_cb cb, void *ud, const char *format, ...);

/* Registers a Lua script; the link owns it. SCRIPT LOAD is sent at once (and again on a ready link
 * while it has not answered): Redis tells the script's SHA1, so the link keeps no hash of its own.
 * Until then redis_link_evalsha sends EVAL with the source. Registering the same source twice returns
 * the same script. NULL on failure. */
redis_script *redis_link_script(redis_link *link, const char *lua_source);
/* The script's SHA1 as 40 lowercase hex digits once SCRIPT LOAD has answered, "" before (borrowed,
 * lives as long as the link). */
const char *redis_link_script_sha(const redis_script *script);

/* EVALSHA script numkeys key... arg...: argv holds the keys followed by the args (copied). */
int redis_link_evalsha(redis_link *link, redis_script *script, int numkeys, int argc, const char **argv,
                       const size_t *argvlen, redis_link_reply_cb cb, void *ud);

/* True when Redis serves commands: connected, authenticated, and its last answer was not LOADING,
 * BUSY or MASTERDOWN. */
bool redis_link_connected(const redis_link *link);
/* While Redis answers LOADING, BUSY or MASTERDOWN: its message ("LOADING Redis is loading the dataset
 * in memory"), borrowed until the next call into the link; NULL otherwise. */
const char *redis_link_not_ready(const redis_link *link);
/* Which connection the link is on: a new number with every connection attempt (0 before the first).
 * Inside a reply callback (with a reply) it names the connection that carried the reply, so two
 * replies can be told to come from the same connection (a write and the WAIT after it). */
uint64_t redis_link_connection_id(const redis_link *link);
/* The link's options (strings owned by the link): wait_replicas and wait_timeout_ms for its users. */
const redis_link_options *redis_link_get_options(const redis_link *link);

/* Why the last connection attempt or connection ended ("auth failed: ...", "Connection refused"),
 * for logs; borrowed until the next call into the link; NULL if nothing failed yet. */
const char *redis_link_last_error(const redis_link *link);

/* Fails every waiting command with "closed", disconnects, frees; *link = NULL. May be called from
 * inside a reply callback. The link's handles close asynchronously: run the loop afterwards and
 * it ends once they are closed (scripts are freed with the link). */
void redis_link_close(redis_link **link);

/* The RESP array of bulk strings for argv into *out (malloc'd, free()): the bytes
 * redisFormatCommandArgv writes, without its sprintf per argument (every command of the links goes
 * through it). argvlen NULL: strlen. Returns the length, -1 when out of memory. */
int redis_link_format_argv(char **out, int argc, const char **argv, const size_t *argvlen);

#endif
