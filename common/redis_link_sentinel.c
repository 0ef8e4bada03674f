/* redis_link_sentinel — finding the master through Sentinel for redis_link (contract in redis_link.h):
 * the Sentinels of options.sentinels are asked in turn `SENTINEL get-master-addr-by-name` over a
 * redis_link of their own; the answer is where the link connects, and a different answer while
 * connected (a failover) drops the connection. */
#include "redis_link_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Sentinel ---------------------------------------------------------------------------- */

/* "ip:port,ip:port,..." into link->sentinel_hosts/ports; false when an item is not an IP address
 * with a port, or there are more than S_MAX_SENTINELS. */
bool rl_parse_sentinels(redis_link *link, const char *text)
{
    link->n_sentinels = 0;
    const char *p = text;
    while (*p) {
        size_t item_len = strcspn(p, ",");
        char item[80];
        if (item_len == 0 || item_len >= sizeof item || link->n_sentinels == S_MAX_SENTINELS)
            return false;
        memcpy(item, p, item_len);
        item[item_len] = '\0';
        char *colon = strrchr(item, ':');
        if (!colon || colon == item)
            return false;
        *colon = '\0';
        char *end = NULL;
        long port = strtol(colon + 1, &end, 10);
        unsigned char address[sizeof(struct in6_addr)];
        if (!end || end == colon + 1 || *end != '\0' || port <= 0 || port > 65535 ||
            strlen(item) >= sizeof link->sentinel_hosts[0] ||
            (inet_pton(AF_INET, item, address) != 1 && inet_pton(AF_INET6, item, address) != 1))
            return false;
        snprintf(link->sentinel_hosts[link->n_sentinels], sizeof link->sentinel_hosts[0], "%s", item);
        link->sentinel_ports[link->n_sentinels] = (int)port;
        link->n_sentinels++;
        p += item_len;
        if (*p == ',')
            p++;
    }
    return link->n_sentinels > 0;
}

/* The Sentinel asked could not tell: the next one is asked (after the backoff when a connect waits). */
static void s_sentinel_failed(redis_link *link, const char *why)
{
    snprintf(link->last_error, sizeof link->last_error, "Sentinel %s:%d: %.150s",
             link->sentinel_hosts[link->sentinel_index], link->sentinel_ports[link->sentinel_index], why);
    redis_link_close(&link->sentinel);
    link->sentinel_index = (link->sentinel_index + 1) % link->n_sentinels;
    if (link->connect_when_told) {
        link->connect_when_told = false;
        rl_schedule_reconnect(link);
    }
}

static void s_on_sentinel_answer(const redisReply *reply, const char *error, void *ud)
{
    redis_link *link = ud;
    link->asking = false;
    if (link->closing)
        return;
    if (error) {
        s_sentinel_failed(link, error);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_STRING || reply->element[0]->len >= sizeof link->master_host) {
        char why[200];
        if (reply->type == REDIS_REPLY_NIL)
            snprintf(why, sizeof why, "does not know the master \"%s\"", link->master_name);
        else
            snprintf(why, sizeof why, "%s",
                     reply->type == REDIS_REPLY_ERROR && reply->str ? reply->str : "unexpected reply");
        s_sentinel_failed(link, why);
        return;
    }
    char *end = NULL;
    long port = strtol(reply->element[1]->str, &end, 10);
    if (!end || *end != '\0' || port <= 0 || port > 65535) {
        s_sentinel_failed(link, "unexpected port");
        return;
    }
    bool moved = strcmp(link->master_host, reply->element[0]->str) != 0 || link->master_port != (int)port;
    snprintf(link->master_host, sizeof link->master_host, "%s", reply->element[0]->str);
    link->master_port = (int)port;
    if (link->connect_when_told) {
        link->connect_when_told = false;
        if (!link->conn)
            rl_connect(link);
        return;
    }
    if (moved && link->conn) {
        /* A failover: everything sent from now on must go to the new master. */
        char why[120];
        snprintf(why, sizeof why, "Sentinel: the master is now %s:%d", link->master_host, link->master_port);
        rl_drop(link, why);
    }
}

/* Asks the current Sentinel where the master is. for_connect: connect once told; otherwise (the
 * periodic check) a different answer drops the connection. */
void rl_ask_sentinel(redis_link *link, bool for_connect)
{
    if (for_connect)
        link->connect_when_told = true;
    if (link->asking || link->closing)
        return;
    if (!link->sentinel) {
        redis_link_options o;
        redis_link_options_default(&o);
        o.host = link->sentinel_hosts[link->sentinel_index];
        o.port = link->sentinel_ports[link->sentinel_index];
        o.username = link->sentinel_username;
        o.password = link->sentinel_password;
        o.connect_timeout_ms = S_SENTINEL_TIMEOUT_MS;
        o.command_timeout_ms = S_SENTINEL_TIMEOUT_MS;
        o.backoff_min_ms = 50;
        o.backoff_max_ms = S_SENTINEL_TIMEOUT_MS;
        link->sentinel = redis_link_new(link->loop, &o);
    }
    if (!link->sentinel || redis_link_commandf(link->sentinel, s_on_sentinel_answer, link,
                                               "SENTINEL get-master-addr-by-name %s", link->master_name) != 0) {
        s_sentinel_failed(link, "cannot be asked");
        return;
    }
    link->asking = true;
}

bool redis_link_sentinels_valid(const char *text)
{
    redis_link scratch;
    return text && *text && rl_parse_sentinels(&scratch, text);
}
