/* process_health — every process of the platform (the gateway and each service worker process, on
 * whatever host) says how it is, so one place can show the health of all of them.
 *
 * Each process keeps a few process-wide counters (requests answered, server-side failures, when the
 * broker was last heard from) and every interval writes its report to Redis, which every process
 * reaches anyway:
 *   SET health:p:<service>:<host>:<pid> <JSON report> PX <3 × interval>
 *   ZADD health:procs <unix ms> <service>:<host>:<pid>
 * A graceful stop deletes both; a process that dies (kill -9, a lost host) leaves its member in
 * health:procs while its report expires, so a reader tells "silent since …" from "stopped".
 * The gateway reads the reports for GET /healthz/processes and /metrics; ops/status reads them
 * straight from Redis (docs/operations.md, «Здоровье процессов»).
 *
 * Report: {"service":"registry","host":"h","pid":1,"startedAt":"…","reportedAt":"…","uptimeSeconds":9,
 *          "status":"ok"|"degraded","problems":["…"],"requests":N,"errors":N,"busy":N,
 *          "brokerHeardMsAgo":N (-1: never),"rssKb":N,"intervalMs":N}
 * "degraded" when the broker has not been heard from for longer than the heartbeat expiry.
 */
#ifndef METODNET_PROCESS_HEALTH_H
#define METODNET_PROCESS_HEALTH_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "redis_link.h"

#define PROCESS_HEALTH_INDEX_KEY  "health:procs"
#define PROCESS_HEALTH_KEY_PREFIX "health:p:"

typedef struct process_health process_health;

/* The characters a service or host name keeps in a report's key and JSON ([A-Za-z0-9._-]); the
 * writer turns any other into '_', a reader refuses a member with one. */
bool process_health_name_char(char c);

/* The process-wide counters, bumped by the code that sees the event (one loop thread per process). */
void process_health_note_request(bool server_error); /* a request was answered (server_error: 5xx class) */
void process_health_note_busy(int delta);            /* requests being handled: +1 taken, -1 answered */
void process_health_note_broker_heard(void);         /* any valid message from the broker */

/* Starts reporting every interval_ms (the first report at once). service: "registry"; link is
 * borrowed and must outlive the reporter; broker_expiry_ms: silence from the broker past it makes the
 * process "degraded" (0: the process holds the broker itself, the gateway). NULL when out of memory. */
process_health *process_health_start(uv_loop_t *loop, redis_link *link, const char *service, uint32_t interval_ms,
                                     uint32_t broker_expiry_ms);

/* The report as it would be written now, into buf (NUL-terminated); its length, or -1 if it did not fit. */
int process_health_report(const process_health *health, char *buf, size_t size);

/* Stops reporting and deletes the process's report and its member (a graceful stop is not a
 * silence); once Redis has answered (or failed) the deletes, frees and calls done(ud) (done may be
 * NULL). *health = NULL. With NULL, calls done at once. The link must stay open until done. */
void process_health_stop(process_health **health, void (*done)(void *ud), void *ud);

#endif
