/* redis_test_server — starts a private redis-server (Debian's /usr/bin/redis-server) for unit tests:
 * a temp dir, a unix socket inside it, no persistence; stop/start keep the same socket path so a
 * test can take Redis away and bring it back. Header-only, included by the tests that need Redis. */
#ifndef METODNET_REDIS_TEST_SERVER_H
#define METODNET_REDIS_TEST_SERVER_H

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    pid_t pid;
    char dir[128];
    char socket_path[192];
    char requirepass[64]; /* "" = none */
} redis_test_server;

static void redis_test_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* Starts (or restarts) the server; returns 0 once it answers PING on the socket. */
static int redis_test_server_start(redis_test_server *server)
{
    if (!server->dir[0]) {
        snprintf(server->dir, sizeof server->dir, "/tmp/metodnet-redis-XXXXXX");
        if (!mkdtemp(server->dir))
            return -1;
        snprintf(server->socket_path, sizeof server->socket_path, "%s/r.sock", server->dir);
    }
    unlink(server->socket_path);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        const char *argv[16];
        int argc = 0;
        argv[argc++] = "/usr/bin/redis-server";
        argv[argc++] = "--port";
        argv[argc++] = "0";
        argv[argc++] = "--unixsocket";
        argv[argc++] = server->socket_path;
        argv[argc++] = "--save";
        argv[argc++] = "";
        argv[argc++] = "--appendonly";
        argv[argc++] = "no";
        argv[argc++] = "--daemonize";
        argv[argc++] = "no";
        argv[argc++] = "--loglevel";
        argv[argc++] = "warning";
        if (server->requirepass[0]) {
            argv[argc++] = "--requirepass";
            argv[argc++] = server->requirepass;
        }
        argv[argc] = NULL;
        if (chdir(server->dir) != 0)
            _exit(126);
        /* Quiet, and never holding the test runner's output pipe open after a failed test. */
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
            close(devnull);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    server->pid = pid;
    for (int i = 0; i < 500; i++) {
        redisContext *c = redisConnectUnix(server->socket_path);
        if (c && !c->err) {
            redisReply *r = redisCommand(c, "PING");
            bool ok = r != NULL; /* PONG, or NOAUTH when a password is required: both mean up */
            if (r)
                freeReplyObject(r);
            redisFree(c);
            if (ok)
                return 0;
        } else if (c) {
            redisFree(c);
        }
        redis_test_sleep_ms(10);
    }
    return -1;
}

/* SIGKILL: the harshest way to lose Redis. */
static void redis_test_server_kill(redis_test_server *server)
{
    if (server->pid > 0) {
        kill(server->pid, SIGKILL);
        waitpid(server->pid, NULL, 0);
        server->pid = 0;
    }
}

static void redis_test_server_destroy(redis_test_server *server)
{
    redis_test_server_kill(server);
    if (server->dir[0]) {
        unlink(server->socket_path);
        rmdir(server->dir);
        server->dir[0] = '\0';
    }
}

#endif
