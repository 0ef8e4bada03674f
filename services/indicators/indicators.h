/* indicators — the indicators service (MDP "indicators", Redis user "indicators", keys "ind:{r:R}:…"):
 * the default catalogue I1–I13 (../shared/docs/INDICATORS.md, seed 000 §6.1), values per region,
 * municipality, organization and subject for a period, the region's targets, snapshots and addressed
 * recommendations. Its state is built incrementally from the domain-event streams of the registry,
 * diagnostics and events (indicators_consumer.c, Redis consumer groups) and checked by a full recompute
 * through the broker (indicators_recompute.c). docs/indicators.md.
 */
#ifndef METODNET_INDICATORS_H
#define METODNET_INDICATORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "redis_link.h"
#include "service_worker.h"

typedef struct indicators_service indicators_service;

indicators_service *indicators_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link);
void indicators_shutdown(indicators_service *svc, void (*done)(void *ud), void *ud);
const service_methods *indicators_methods(void);
/* The Lua sources of the service's scripts (lua/person.lua, apply.lua, values.lua, dead.lua, drop.lua,
 * compare.lua), one list per file, for tests/unit/test_redis_acl.c. */
const char *const *indicators_lua_person(size_t *n);
const char *const *indicators_lua_compare(size_t *n);
const char *const *indicators_lua_apply(size_t *n);
const char *const *indicators_lua_values(size_t *n);
const char *const *indicators_lua_dead(size_t *n);
const char *const *indicators_lua_drop(size_t *n);

/* ---- the catalogue and the arithmetic (indicators_catalogue.c), pure ---- */

#define INDICATORS_COUNT 13

typedef struct {
    const char *code;    /* "I1" */
    const char *name_ru; /* as in the catalogue */
    bool share;          /* a share in percent; else a count */
    const char *numerator_ru;
    const char *denominator_ru; /* NULL for a count */
    const char *action_ru;      /* what a recommendation asks for the people not yet counted */
} indicator_def;

const indicator_def *indicators_catalogue(void); /* INDICATORS_COUNT entries, I1…I13 in order */
const indicator_def *indicators_find(const char *code);

/* A period: "" = the calendar year of today_ymd; "2026"; "2025/26" (1 September – 31 August);
 * "2026-01-01..2026-03-31". start/end get YYYY-MM-DD, canonical the normalised text. 0, or -1 with
 * a Russian message in error. */
int indicators_period_parse(const char *text, int today_year, char start[11], char end[11], char *canonical,
                            size_t canonical_size, char *error, size_t error_size);

/* numerator / denominator × 100 in tenths of a percent, rounded half up (denominator > 0). */
int64_t indicators_share_tenths(int64_t numerator, int64_t denominator);
/* How many more people the numerator needs so that the share reaches target (percent). */
int64_t indicators_people_to_reach(int64_t numerator, int64_t denominator, double target);

#endif
