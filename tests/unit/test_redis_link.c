/* test_redis_link — redis_link against a real redis-server: round trips, deadlines on a refused
 * connection, reconnect after Redis is killed and restarted, the PING watchdog, EVALSHA reload on
 * NOSCRIPT (the SHA1 taken from SCRIPT LOAD), AUTH (password and ACL user), close from a callback,
 * BUSY waited for (never a reply). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "redis_link.h"
#include "redis_test_server.h"

/* One command's outcome; calls counts how often the callback ran (must be exactly once). */
typedef struct {
    int calls;
    int type;
    long long integer;
    char text[256];
    size_t text_len;
    char error[256];
    uint64_t done_ms;
} outcome;

static void s_record(const redisReply *reply, const char *error, void *ud)
{
    outcome *o = ud;
    o->calls++;
    o->done_ms = uv_hrtime() / 1000000;
    if (error) {
        snprintf(o->error, sizeof o->error, "%s", error);
        assert_null(reply);
        return;
    }
    assert_non_null(reply);
    o->type = reply->type;
    o->integer = reply->integer;
    if (reply->str) {
        o->text_len = reply->len < sizeof o->text - 1 ? reply->len : sizeof o->text - 1;
        memcpy(o->text, reply->str, o->text_len);
        o->text[o->text_len] = '\0';
    }
}

/* The test's Redis; the teardown kills it even when an assertion failed midway. */
static redis_test_server server;

static int s_teardown(void **state)
{
    (void)state;
    redis_test_server_destroy(&server);
    memset(&server, 0, sizeof server);
    return 0;
}

static uint64_t s_now_ms(void)
{
    return uv_hrtime() / 1000000;
}

/* Runs the loop until *calls reaches want or timeout_ms passes. */
static void s_run_until(uv_loop_t *loop, const int *calls, int want, uint64_t timeout_ms)
{
    uint64_t end = s_now_ms() + timeout_ms;
    while (*calls < want && s_now_ms() < end)
        uv_run(loop, UV_RUN_ONCE);
}

static void s_on_wake(uv_timer_t *timer)
{
    (void)timer;
}

/* Runs the loop for about ms (the link's own timers keep it turning). */
static void s_run_for(uv_loop_t *loop, uint64_t ms)
{
    uv_timer_t timer;
    uv_timer_init(loop, &timer);
    uv_timer_start(&timer, s_on_wake, ms, 0);
    uint64_t end = s_now_ms() + ms;
    while (s_now_ms() < end)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static void s_close_and_drain(uv_loop_t *loop, redis_link **link)
{
    redis_link_close(link);
    assert_null(*link);
    uv_run(loop, UV_RUN_DEFAULT); /* must end: every handle of the link closes */
    assert_int_equal(uv_loop_close(loop), 0);
}

static redis_link_options s_options(const redis_test_server *server)
{
    redis_link_options options;
    redis_link_options_default(&options);
    options.unix_path = server ? server->socket_path : NULL;
    options.connect_timeout_ms = 500;
    options.command_timeout_ms = 1000;
    options.ping_interval_ms = 100;
    options.backoff_min_ms = 20;
    options.backoff_max_ms = 200;
    return options;
}

static void test_round_trip(void **state)
{
    (void)state;
    assert_int_equal(redis_test_server_start(&server), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    redis_link_options options = s_options(&server);
    redis_link *link = redis_link_new(&loop, &options);
    assert_non_null(link);

    const char binary[] = {'a', '\0', 'b', '\x1f', '\xff'};
    outcome set = {0}, get = {0}, incr = {0}, wrong = {0};
    assert_int_equal(redis_link_commandf(link, s_record, &set, "SET %s %b", "k", binary, sizeof binary), 0);
    const char *argv[] = {"GET", "k"};
    assert_int_equal(redis_link_command(link, s_record, &get, 2, argv, NULL), 0);
    assert_int_equal(redis_link_commandf(link, s_record, &incr, "INCRBY counter %d", 41), 0);
    assert_int_equal(redis_link_commandf(link, s_record, &wrong, "INCR k"), 0);
    /* Never answered from inside the call. */
    assert_int_equal(set.calls + get.calls + incr.calls + wrong.calls, 0);
    s_run_until(&loop, &wrong.calls, 1, 3000);
    assert_int_equal(set.calls, 1);
    assert_string_equal(set.text, "OK");
    assert_int_equal(get.calls, 1);
    assert_int_equal(get.type, REDIS_REPLY_STRING);
    assert_int_equal(get.text_len, sizeof binary);
    assert_memory_equal(get.text, binary, sizeof binary);
    assert_int_equal(incr.type, REDIS_REPLY_INTEGER);
    assert_int_equal(incr.integer, 41);
    /* An error reply is a reply, not an error. */
    assert_int_equal(wrong.calls, 1);
    assert_int_equal(wrong.type, REDIS_REPLY_ERROR);
    assert_string_equal(wrong.error, "");
    assert_true(redis_link_connected(link));

    /* Many pipelined commands: each answered once, in order. */
    enum { N = 2000 };
    static outcome many[N];
    memset(many, 0, sizeof many);
    for (int i = 0; i < N; i++)
        assert_int_equal(redis_link_commandf(link, s_record, &many[i], "INCR seq"), 0);
    s_run_until(&loop, &many[N - 1].calls, 1, 5000);
    for (int i = 0; i < N; i++) {
        assert_int_equal(many[i].calls, 1);
        assert_int_equal(many[i].integer, i + 1);
    }

    /* Bad arguments are refused without a callback. */
    assert_int_equal(redis_link_command(link, s_record, &set, 0, argv, NULL), -1);

    s_close_and_drain(&loop, &link);
    redis_test_server_destroy(&server);
}

static int s_free_tcp_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    close(fd); /* nothing listens there now */
    return ntohs(addr.sin_port);
}

static void s_refused(const redis_link_options *options)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    redis_link *link = redis_link_new(&loop, options);
    assert_non_null(link);
    outcome o = {0};
    uint64_t start = s_now_ms();
    assert_int_equal(redis_link_commandf(link, s_record, &o, "PING"), 0);
    s_run_until(&loop, &o.calls, 1, 5000);
    assert_int_equal(o.calls, 1);
    assert_string_equal(o.error, "timeout");
    uint64_t elapsed = o.done_ms - start;
    assert_true(elapsed + 20 >= options->command_timeout_ms);
    assert_true(elapsed < options->command_timeout_ms + 400);
    assert_false(redis_link_connected(link));
    assert_non_null(redis_link_last_error(link));
    /* Keep the loop going a little: no second callback, reconnects keep failing quietly. */
    s_run_for(&loop, 150);
    assert_int_equal(o.calls, 1);
    s_close_and_drain(&loop, &link);
}

static void test_refused_connection_times_out(void **state)
{
    (void)state;
    redis_link_options options = s_options(NULL);
    options.command_timeout_ms = 300;
    options.unix_path = "/nonexistent/metodnet/r.sock";
    s_refused(&options);

    options.unix_path = NULL;
    options.host = "127.0.0.1";
    options.port = s_free_tcp_port();
    s_refused(&options);
}

static void s_count(const redisReply *reply, const char *error, void *ud)
{
    (void)reply;
    if (error && strcmp(error, "closed") == 0)
        ++*(int *)ud;
}

static void test_waiting_queue_is_bounded(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    redis_link_options options = s_options(NULL);
    options.unix_path = "/nonexistent/metodnet/r.sock";
    options.command_timeout_ms = 60000;
    redis_link *link = redis_link_new(&loop, &options);
    int closed = 0;
    for (int i = 0; i < 100000; i++)
        assert_int_equal(redis_link_commandf(link, s_count, &closed, "PING"), 0);
    assert_int_equal(redis_link_commandf(link, s_count, &closed, "PING"), -1);
    redis_link_close(&link);
    assert_int_equal(closed, 100000);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_reconnect_after_restart(void **state)
{
    (void)state;
    assert_int_equal(redis_test_server_start(&server), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    redis_link_options options = s_options(&server);
    options.command_timeout_ms = 5000;
    redis_link *link = redis_link_new(&loop, &options);

    outcome first = {0};
    redis_link_commandf(link, s_record, &first, "SET before restart");
    s_run_until(&loop, &first.calls, 1, 3000);
    assert_string_equal(first.text, "OK");

    /* A command in flight when Redis dies is answered "disconnected", not retried. */
    outcome blocked = {0};
    redis_link_commandf(link, s_record, &blocked, "BLPOP nothing 3");
    s_run_for(&loop, 100);
    redis_test_server_kill(&server);
    s_run_until(&loop, &blocked.calls, 1, 3000);
    assert_int_equal(blocked.calls, 1);
    assert_string_equal(blocked.error, "disconnected");

    /* Issued during the outage: waits, then goes out on the new connection. */
    outcome queued = {0};
    assert_int_equal(redis_link_commandf(link, s_record, &queued, "SET during %s", "outage"), 0);
    s_run_for(&loop, 300); /* several failed reconnect attempts with backoff */
    assert_int_equal(queued.calls, 0);
    assert_false(redis_link_connected(link));
    assert_int_equal(redis_test_server_start(&server), 0);
    s_run_until(&loop, &queued.calls, 1, 4000);
    assert_int_equal(queued.calls, 1);
    assert_string_equal(queued.error, "");
    assert_string_equal(queued.text, "OK");
    assert_true(redis_link_connected(link));

    outcome check = {0};
    redis_link_commandf(link, s_record, &check, "GET during");
    s_run_until(&loop, &check.calls, 1, 3000);
    assert_string_equal(check.text, "outage");

    s_close_and_drain(&loop, &link);
    redis_test_server_destroy(&server);
}

static void test_expired_queued_command_is_never_sent(void **state)
{
    (void)state;
    assert_int_equal(redis_test_server_start(&server), 0);
    redis_test_server_kill(&server);
    uv_loop_t loop;
    uv_loop_init(&loop);
    redis_link_options options = s_options(&server);
    options.command_timeout_ms = 300;
    redis_link *link = redis_link_new(&loop, &options);
    outcome late = {0};
    redis_link_commandf(link, s_record, &late, "SET late 1");
    s_run_until(&loop, &late.calls, 1, 3000);
    assert_string_equal(late.error, "timeout");
    assert_int_equal(redis_test_server_start(&server), 0);
    uint64_t end = s_now_ms() + 3000;
    while (!redis_link_connected(link) && s_now_ms() < end)
        uv_run(&loop, UV_RUN_ONCE);
    assert_true(redis_link_connected(link));
    outcome check = {0};
    redis_link_commandf(link, s_record, &check, "EXISTS late");
    s_run_until(&loop, &check.calls, 1, 3000);
    assert_int_equal(check.type, REDIS_REPLY_INTEGER);
    assert_int_equal(check.integer, 0);
    assert_int_equal(late.calls, 1);
    s_close_and_drain(&loop, &link);
}

static void test_ping_watchdog(void **state)
{
    (void)state;
    assert_int_equal(redis_test_server_start(&server), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    redis_link_options options = s_options(&server);
    options.command_timeout_ms = 200;
    redis_link *link = redis_link_new(&loop, &options);
    outcome o = {0};
    redis_link_commandf(link, s_record, &o, "PING");
    s_run_until(&loop, &o.calls, 1, 3000);
    assert_string_equal(o.text, "PONG");

    /* A stopped server keeps the socket open but never answers: only the watchdog notices. */
    kill(server.pid, SIGSTOP);
    s_run_for(&loop, 600);
    const char *why = redis_link_last_error(link);
    assert_non_null(why);
    assert_non_null(strstr(why, "PING"));
    kill(server.pid, SIGCONT);
    /* A PING sent just before SIGCONT may still miss its deadline and drop one more connection;
     * let that settle, then the link must be usable again on its own. */
    s_run_for(&loop, 400);

    outcome after = {0};
    redis_link_commandf(link, s_record, &after, "PING");
    s_run_until(&loop, &after.calls, 1, 3000);
    assert_string_equal(after.error, "");
    assert_string_equal(after.text, "PONG");
    s_close_and_drain(&loop, &link);
    redis_test_server_destroy(&server);
}

/* Runs a Lua script on its own link that keeps Redis busy for busy_ms (BUSY to everyone else once
 * busy-reply-threshold has passed). */
static const char s_busy_lua[] = "local s = redis.call('TIME')\n"
                                 "local start = s[1] * 1000000 + s[2]\n"
                                 "while true do\n"
                                 "  local t = redis.call('TIME')\n"
                                 "  if t[1] * 1000000 + t[2] - start > tonumber(ARGV[1]) * 1000 then return 1 end\n"
                                 "end\n";

static void test_busy_redis_is_waited_for_not_answered(void **state)
{
    (void)state;
    assert_int_equal(redis_test_server_start(&server), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    redis_link_options options = s_options(&server);
    options.command_timeout_ms = 3000;
    redis_link *busy = redis_link_new(&loop, &options);
    redis_link *link = redis_link_new(&loop, &options);
    outcome config = {0};
    redis_link_commandf(link, s_record, &config, "CONFIG SET busy-reply-threshold 50");
    s_run_until(&loop, &config.calls, 1, 3000);
    assert_string_equal(config.text, "OK");

    outcome script = {0}, set = {0}, get = {0};
    redis_link_commandf(busy, s_record, &script, "EVAL %s 0 700", s_busy_lua);
    s_run_for(&loop, 150); /* past the threshold: Redis now answers BUSY */
    uint64_t sent = s_now_ms();
    redis_link_commandf(link, s_record, &set, "SET k v");
    redis_link_commandf(link, s_record, &get, "GET k");
    s_run_until(&loop, &get.calls, 1, 5000);
    /* Both waited for the script instead of getting BUSY back, and ran in issue order. */
    assert_int_equal(set.calls, 1);
    assert_string_equal(set.error, "");
    assert_string_equal(set.text, "OK");
    assert_string_equal(get.error, "");
    assert_string_equal(get.text, "v");
    assert_true(get.done_ms - sent >= 300);
    assert_true(redis_link_connected(link));
    assert_null(redis_link_not_ready(link));
    s_run_until(&loop, &script.calls, 1, 3000);
    assert_int_equal(script.integer, 1);

    /* A deadline that passes while Redis is busy: answered "not ready", never a BUSY reply. */
    options.command_timeout_ms = 200;
    redis_link *impatient = redis_link_new(&loop, &options);
    outcome ping = {0}, late = {0};
    redis_link_commandf(impatient, s_record, &ping, "PING");
    s_run_until(&loop, &ping.calls, 1, 3000);
    assert_string_equal(ping.text, "PONG");
    outcome script2 = {0};
    redis_link_commandf(busy, s_record, &script2, "EVAL %s 0 700", s_busy_lua);
    s_run_for(&loop, 150);
    redis_link_commandf(impatient, s_record, &late, "GET k");
    s_run_until(&loop, &late.calls, 1, 3000);
    assert_int_equal(late.calls, 1);
    assert_non_null(strstr(late.error, "not ready: BUSY"));
    assert_false(redis_link_connected(impatient));
    assert_non_null(redis_link_not_ready(impatient));
    s_run_until(&loop, &script2.calls, 1, 3000);
    s_run_for(&loop, 300); /* the probe finds Redis serving again */
    assert_true(redis_link_connected(impatient));

    redis_link_close(&impatient);
    redis_link_close(&busy);
    s_close_and_drain(&loop, &link);
    redis_test_server_destroy(&server);
}

static void test_late_reply_discarded(void **state)
{
    (void)state;
    assert_int_equal(redis_test_server_start(&server), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    redis_link_options options = s_options(&server);
    options.command_timeout_ms = 100;
    options.ping_interval_ms = 60000;
    redis_link *link = redis_link_new(&loop, &options);
    outcome slow = {0};
    uint64_t start = s_now_ms();
    redis_link_commandf(link, s_record, &slow, "BLPOP nothing 0.3");
    s_run_until(&loop, &slow.calls, 1, 3000);
    assert_string_equal(slow.error, "timeout");
    assert_true(slow.done_ms - start < 250);
    s_run_for(&loop, 400); /* the nil reply arrives now and must be dropped */
    assert_int_equal(slow.calls, 1);
    outcome next = {0};
    redis_link_commandf(link, s_record, &next, "PING");
    s_run_until(&loop, &next.calls, 1, 3000);
    assert_string_equal(next.text, "PONG");
    s_close_and_drain(&loop, &link);
    redis_test_server_destroy(&server);
}

static void test_evalsha_reloads_on_noscript(void **state)
{
    (void)state;
    assert_int_equal(redis_test_server_start(&server), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    redis_link_options options = s_options(&server);
    redis_link *link = redis_link_new(&loop, &options);
    const char *source = "return ARGV[1] .. ':' .. KEYS[1]";
    redis_script *script = redis_link_script(link, source);
    assert_non_null(script);
    assert_ptr_equal(redis_link_script(link, source), script);

    /* Run at once, before SCRIPT LOAD has answered: sent as EVAL with the source. */
    redis_script *fresh = redis_link_script(link, "return 'fresh:' .. ARGV[1]");
    assert_string_equal(redis_link_script_sha(fresh), "");
    outcome early = {0};
    assert_int_equal(redis_link_evalsha(link, fresh, 0, 1, (const char *[]){"x"}, NULL, s_record, &early), 0);
    s_run_until(&loop, &early.calls, 1, 3000);
    assert_string_equal(early.text, "fresh:x");
    assert_int_equal(strlen(redis_link_script_sha(fresh)), 40);

    /* The SHA1 is the one Redis answered to the link's own SCRIPT LOAD. */
    outcome load = {0};
    redis_link_commandf(link, s_record, &load, "SCRIPT LOAD %s", source);
    s_run_until(&loop, &load.calls, 1, 3000);
    assert_int_equal(strlen(load.text), 40);
    assert_string_equal(load.text, redis_link_script_sha(script));

    for (int round = 0; round < 2; round++) {
        outcome flush = {0}, run = {0}, run_again = {0};
        redis_link_commandf(link, s_record, &flush, "SCRIPT FLUSH");
        const char *argv[] = {"key", "value"};
        assert_int_equal(redis_link_evalsha(link, script, 1, 2, argv, NULL, s_record, &run), 0);
        assert_int_equal(redis_link_evalsha(link, script, 1, 2, argv, NULL, s_record, &run_again), 0);
        s_run_until(&loop, &run_again.calls, 1, 3000);
        assert_int_equal(run.calls, 1);
        assert_int_equal(run.type, REDIS_REPLY_STRING);
        assert_string_equal(run.text, "value:key");
        assert_string_equal(run_again.text, "value:key");
    }
    /* A script that does not compile: NOSCRIPT after one reload attempt is handed back as a reply. */
    redis_script *broken = redis_link_script(link, "this is not lua");
    outcome bad = {0};
    assert_int_equal(redis_link_evalsha(link, broken, 0, 0, NULL, NULL, s_record, &bad), 0);
    s_run_until(&loop, &bad.calls, 1, 3000);
    assert_int_equal(bad.calls, 1);
    assert_int_equal(bad.type, REDIS_REPLY_ERROR);
    assert_int_equal(redis_link_evalsha(link, script, 3, 2, (const char *[]){"a", "b"}, NULL, s_record, &bad), -1);
    s_close_and_drain(&loop, &link);
    redis_test_server_destroy(&server);
}

static void test_auth(void **state)
{
    (void)state;
    snprintf(server.requirepass, sizeof server.requirepass, "s3cret");
    assert_int_equal(redis_test_server_start(&server), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);

    redis_link_options options = s_options(&server);
    options.password = "s3cret";
    redis_link *link = redis_link_new(&loop, &options);
    outcome ping = {0}, acl = {0};
    redis_link_commandf(link, s_record, &ping, "PING");
    redis_link_commandf(link, s_record, &acl, "ACL SETUSER svc on >pw ~* +@all");
    s_run_until(&loop, &acl.calls, 1, 3000);
    assert_string_equal(ping.text, "PONG");
    assert_string_equal(acl.text, "OK");

    redis_link_options user_options = s_options(&server);
    user_options.username = "svc";
    user_options.password = "pw";
    redis_link *user_link = redis_link_new(&loop, &user_options);
    outcome whoami = {0};
    redis_link_commandf(user_link, s_record, &whoami, "ACL WHOAMI");
    s_run_until(&loop, &whoami.calls, 1, 3000);
    assert_string_equal(whoami.text, "svc");

    redis_link_options wrong_options = s_options(&server);
    wrong_options.password = "wrong";
    redis_link *wrong_link = redis_link_new(&loop, &wrong_options);
    outcome denied = {0};
    redis_link_commandf(wrong_link, s_record, &denied, "PING");
    s_run_until(&loop, &denied.calls, 1, 3000);
    assert_int_equal(denied.calls, 1);
    assert_int_equal(strncmp(denied.error, "auth failed: ", 13), 0);
    assert_false(redis_link_connected(wrong_link));

    /* No password at all against a server that needs one: the command's reply is NOAUTH. */
    redis_link_options none_options = s_options(&server);
    redis_link *none_link = redis_link_new(&loop, &none_options);
    outcome noauth = {0};
    redis_link_commandf(none_link, s_record, &noauth, "PING");
    s_run_until(&loop, &noauth.calls, 1, 3000);
    assert_int_equal(noauth.type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(noauth.text, "NOAUTH"));

    redis_link_close(&none_link);
    redis_link_close(&wrong_link);
    redis_link_close(&user_link);
    s_close_and_drain(&loop, &link);
    redis_test_server_destroy(&server);
}

typedef struct {
    redis_link *link;
    outcome first;
} close_from_callback;

static void s_close_in_callback(const redisReply *reply, const char *error, void *ud)
{
    close_from_callback *c = ud;
    s_record(reply, error, &c->first);
    redis_link_close(&c->link);
}

static void test_close_from_callback(void **state)
{
    (void)state;
    assert_int_equal(redis_test_server_start(&server), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    redis_link_options options = s_options(&server);
    close_from_callback c = {0};
    c.link = redis_link_new(&loop, &options);
    redis_link *link = c.link;
    outcome second = {0};
    redis_link_commandf(link, s_close_in_callback, &c, "PING");
    redis_link_commandf(link, s_record, &second, "PING");
    s_run_until(&loop, &c.first.calls, 1, 3000);
    assert_string_equal(c.first.text, "PONG");
    assert_null(c.link);
    /* The second was already with hiredis: answered "closed", exactly once. */
    assert_int_equal(second.calls, 1);
    assert_string_equal(second.error, "closed");
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(second.calls, 1);
    assert_int_equal(uv_loop_close(&loop), 0);

    /* Closing while commands wait for a connection that never comes. */
    uv_loop_init(&loop);
    options.unix_path = "/nonexistent/r.sock";
    link = redis_link_new(&loop, &options);
    outcome waiting = {0};
    redis_link_commandf(link, s_record, &waiting, "PING");
    s_run_for(&loop, 50);
    redis_link_close(&link);
    assert_int_equal(waiting.calls, 1);
    assert_string_equal(waiting.error, "closed");
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    redis_test_server_destroy(&server);
}

/* The RESP text of a command is exactly what hiredis's redisFormatCommandArgv writes (binary values,
 * empty ones, lengths of every number of digits). */
static void test_format_argv_matches_hiredis(void **state)
{
    (void)state;
    static char big[123457];
    memset(big, 'x', sizeof big);
    big[77] = '\0'; /* binary: a NUL inside */
    const char *argv[] = {"XADD", "audit:{g}:log", "*", "e", "", big, "\r\n$3\r\n", big};
    size_t argvlen[] = {4, 13, 1, 1, 0, sizeof big, 6, 9};
    for (int argc = 1; argc <= 8; argc++) {
        char *ours = NULL, *theirs = NULL;
        int n_ours = redis_link_format_argv(&ours, argc, argv, argvlen);
        int n_theirs = redisFormatCommandArgv(&theirs, argc, argv, argvlen);
        assert_int_equal(n_ours, n_theirs);
        assert_memory_equal(ours, theirs, (size_t)n_theirs);
        free(ours);
        redisFreeCommand(theirs);
    }
    const char *words[] = {"HMGET", "reg:{r:07}:staff:07-s1", "v", "d"};
    char *ours = NULL, *theirs = NULL;
    int n = redis_link_format_argv(&ours, 4, words, NULL); /* lengths by strlen */
    assert_int_equal(n, redisFormatCommandArgv(&theirs, 4, words, NULL));
    assert_memory_equal(ours, theirs, (size_t)n);
    free(ours);
    redisFreeCommand(theirs);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_argv_matches_hiredis),
        cmocka_unit_test_teardown(test_round_trip, s_teardown),
        cmocka_unit_test_teardown(test_refused_connection_times_out, s_teardown),
        cmocka_unit_test_teardown(test_waiting_queue_is_bounded, s_teardown),
        cmocka_unit_test_teardown(test_reconnect_after_restart, s_teardown),
        cmocka_unit_test_teardown(test_expired_queued_command_is_never_sent, s_teardown),
        cmocka_unit_test_teardown(test_ping_watchdog, s_teardown),
        cmocka_unit_test_teardown(test_late_reply_discarded, s_teardown),
        cmocka_unit_test_teardown(test_busy_redis_is_waited_for_not_answered, s_teardown),
        cmocka_unit_test_teardown(test_evalsha_reloads_on_noscript, s_teardown),
        cmocka_unit_test_teardown(test_auth, s_teardown),
        cmocka_unit_test_teardown(test_close_from_callback, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
