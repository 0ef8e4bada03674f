/* registry_claims_check — `metodnet-registry check-claims [--fix]`: finds and repairs externalId claims
 * that disagree with the records (issue 17, item 4: before HDEL was granted, a delete kept its record's
 * externalId taken for ever and a PATCH changing it reserved nothing, so a second record could take it).
 *
 * For each region of reg:{g}:ix:regions and each kind with an externalId (organizations, staff) it reads
 * the claims hash reg:{r:R}:xid:<kind> (value → owner id) and every record of the kind's main index:
 *   - a claim whose owner record is gone, or whose owner now has another externalId: stale; --fix
 *     releases it (only if it still names that owner);
 *   - a record with an externalId that no claim names (the value free or held by a stale claim):
 *     unclaimed; --fix claims it for the record (HSETNX, after the stale claims are released);
 *   - two or more records with the same externalId: a duplicate, reported with their ids and never
 *     fixed — which record keeps the value is an operator's decision (change the other one's
 *     externalId through the API; the next run then fixes the claims).
 * The report (Russian) goes to out: one line per problem, then the counts.
 *
 * It reads whole claims hashes (HGETALL), which no service's Redis user may do: run it as the
 * operator's user "ops" (ops/up does, before the services start). Blocking hiredis, one connection. */
#ifndef METODNET_REGISTRY_CLAIMS_CHECK_H
#define METODNET_REGISTRY_CLAIMS_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <hiredis/hiredis.h>

/* Exit codes of check-claims. */
enum {
    REGISTRY_CLAIMS_CLEAN = 0,    /* nothing wrong, or everything found was fixed */
    REGISTRY_CLAIMS_FAILED = 1,   /* Redis unreachable or an unexpected reply */
    REGISTRY_CLAIMS_USAGE = 2,    /* bad arguments */
    REGISTRY_CLAIMS_PROBLEMS = 3, /* problems remain: duplicates, or anything without --fix */
};

typedef struct {
    size_t regions, records, claims;
    size_t stale, released;
    size_t unclaimed, restored;
    size_t duplicates; /* values held by more than one record */
} registry_claims_report;

/* Runs the check on c (connected and authenticated). Returns one of the codes above. */
int registry_claims_check(redisContext *c, bool fix, FILE *out, registry_claims_report *report);

/* The Lua source of its script (run as "ops"), for tests/unit/test_redis_acl.c. */
const char *const *registry_claims_check_lua_scripts(size_t *n);

#endif
