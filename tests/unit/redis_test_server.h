/* redis_test_server — starts a private redis-server (Debian's /usr/bin/redis-server) for unit tests:
 * a temp dir, a unix socket inside it, no persistence; stop/start keep the same socket path so a
 * test can take Redis away and bring it back. Header-only, included by the tests that need Redis.
 *
 * With service_acl set, the server has the users of ops/redis-acl.conf (the production rules, read
 * from METODNET_SOURCE_DIR, which tests/CMakeLists.txt defines), each with the password
 * redis_test_password(user); redis_test_link_as() gives link options that connect as one of them, so a
 * service's writes in a unit test run under that service's ACL exactly as in production. The default
 * user stays unrestricted (no password) for the test's own look into Redis. */
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

#include "redis_link.h"

typedef struct {
    pid_t pid;
    char dir[128];
    char socket_path[192];
    char requirepass[64]; /* "" = none */
    bool service_acl;     /* the users of ops/redis-acl.conf (see above) */
    char aclfile[224];
} redis_test_server;

/* The password of an ACL user of a service_acl server. */
static inline const char *redis_test_password(const char *user, char *buf, size_t size)
{
    snprintf(buf, size, "test-%s", user);
    return buf;
}

/* Writes path: the default user unrestricted, each user of ops/redis-acl.conf with its rules and the
 * password redis_test_password(user). Returns 0 or -1. */
static inline int redis_test_write_acl(const char *path)
{
#ifdef METODNET_SOURCE_DIR
    FILE *in = fopen(METODNET_SOURCE_DIR "/ops/redis-acl.conf", "r");
    FILE *out = in ? fopen(path, "w") : NULL;
    if (!in || !out) {
        if (in)
            fclose(in);
        return -1;
    }
    fprintf(out, "user default on nopass ~* &* +@all\n");
    char line[2048];
    while (fgets(line, sizeof line, in)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        p[strcspn(p, "\r\n")] = '\0';
        if (*p == '#' || *p == '\0')
            continue;
        size_t name_len = strcspn(p, " \t");
        char name[64], password[96];
        snprintf(name, sizeof name, "%.*s", (int)(name_len < 63 ? name_len : 63), p);
        fprintf(out, "user %s reset on >%s %s\n", name, redis_test_password(name, password, sizeof password),
                p + name_len);
    }
    fclose(in);
    return fclose(out) == 0 ? 0 : -1;
#else
    (void)path;
    return -1;
#endif
}

/* Link options connecting to server as user (server->service_acl); password is the caller's buffer. */
static inline void redis_test_link_as(const redis_test_server *server, const char *user, char *password, size_t size,
                                      redis_link_options *options)
{
    redis_link_options_default(options);
    options->unix_path = server->socket_path;
    options->username = user;
    options->password = redis_test_password(user, password, size);
}

static inline void redis_test_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* Starts (or restarts) the server; returns 0 once it answers PING on the socket. */
static inline int redis_test_server_start(redis_test_server *server)
{
    if (!server->dir[0]) {
        snprintf(server->dir, sizeof server->dir, "/tmp/metodnet-redis-XXXXXX");
        if (!mkdtemp(server->dir))
            return -1;
        snprintf(server->socket_path, sizeof server->socket_path, "%s/r.sock", server->dir);
        if (server->service_acl) {
            snprintf(server->aclfile, sizeof server->aclfile, "%s/users.acl", server->dir);
            if (redis_test_write_acl(server->aclfile) != 0)
                return -1;
        }
    }
    unlink(server->socket_path);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        const char *argv[20];
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
        if (server->aclfile[0]) {
            argv[argc++] = "--aclfile";
            argv[argc++] = server->aclfile;
        }
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
static inline void redis_test_server_kill(redis_test_server *server)
{
    if (server->pid > 0) {
        kill(server->pid, SIGKILL);
        waitpid(server->pid, NULL, 0);
        server->pid = 0;
    }
}

static inline void redis_test_server_destroy(redis_test_server *server)
{
    redis_test_server_kill(server);
    if (server->dir[0]) {
        unlink(server->socket_path);
        if (server->aclfile[0])
            unlink(server->aclfile);
        rmdir(server->dir);
        server->dir[0] = '\0';
    }
}

#endif
