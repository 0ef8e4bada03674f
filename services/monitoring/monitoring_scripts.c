/* monitoring_scripts — the Lua scripts of the monitoring service, one per change, so that a report's
 * state, the campaign's per-organization status and the domain event never disagree and a submit is one
 * round trip to Redis (the reporting peak: every school of a region in the same minute):
 *
 *   save      a draft (PUT) or a submit: the campaign open (its attribute string "|st:open|"), the
 *             deadline ("|due:…|", refused after it unless "|ro:1|", reopened), the organization in the
 *             campaign's scope (mon:{r:R}:req:<campaign>), the report not waiting for review nor
 *             approved, a submit complete; then the report hash, the status hash and the event.
 *   review    approve or return a submitted report (the reviewer's municipality checked in the script).
 *   scope     the campaign's scope fixed at open: organization → municipality (replaced whole).
 *   overview  the scope and the statuses of a campaign read at one moment (progress, the list).
 *   snapshot  the approved values frozen at a close under a new version; an existing version is never
 *             written again (immutability).
 *   figures   the scope, the statuses and the approved reports' values of a campaign at one moment (what
 *             the indicators service reads: monitoring_figures.c).
 *
 * Report statuses in the hashes are the ReportStatus numbers: 1 draft, 2 submitted, 3 approved,
 * 4 returned. Replies are arrays {code, …}: 0 done (then the report hash's HGETALL pairs).
 */
#include <stdio.h>
#include <string.h>

#include "monitoring.h"
#include "monitoring_internal.h"

/* KEYS: [1] campaign, [2] scope (req), [3] statuses (rs), [4] report, [5] stream.
 * ARGV: [1] "draft" | "submit", [2] now (RFC 3339 UTC), [3] values given "1"/"0", [4] packed values,
 * [5] complete "1"/"0", [6] missing codes (comma-separated), [7] actor, [8] DomainEvent bytes,
 * [9] organization id.
 * Codes: 1 no campaign, 2 campaign not open, 3 not in scope, 4 submitted already, 5 approved,
 * 6 deadline passed (detail: deadline), 7 incomplete (detail: missing codes). */
static const char s_save_lua[] =
    "local a = redis.call('HGET', KEYS[1], 'a')\n"
    "if not a then return {1, ''} end\n"
    "if not string.find(a, '|st:open|', 1, true) then return {2, ''} end\n"
    "local due = string.match(a, '|due:([^|]*)|') or ''\n"
    "local reopened = string.find(a, '|ro:1|', 1, true) ~= nil\n"
    "local mun = redis.call('HGET', KEYS[2], ARGV[9])\n"
    "if not mun then return {3, ''} end\n"
    "local s = redis.call('HGET', KEYS[4], 's') or '0'\n"
    "if s == '2' then return {4, ''} end\n"
    "if s == '3' then return {5, ''} end\n"
    "local late = ARGV[2] > due\n"
    "local submit = ARGV[1] == 'submit'\n"
    "if submit and late and not reopened then return {6, due} end\n"
    "local complete, missing\n"
    "if ARGV[3] == '1' then complete, missing = ARGV[5], ARGV[6]\n"
    "else complete, missing = redis.call('HGET', KEYS[4], 'c') or '0', redis.call('HGET', KEYS[4], 'x') or '' end\n"
    "if submit and complete ~= '1' then return {7, missing} end\n"
    "if ARGV[3] == '1' then redis.call('HSET', KEYS[4], 'd', ARGV[4], 'c', ARGV[5], 'x', ARGV[6]) end\n"
    "local status = s\n"
    "if submit then status = '2' elseif s ~= '4' then status = '1' end\n"
    "redis.call('HINCRBY', KEYS[4], 'v', 1)\n"
    "redis.call('HSET', KEYS[4], 's', status, 'm', mun, 'u', ARGV[2])\n"
    "if submit then\n"
    "  redis.call('HSET', KEYS[4], 't', ARGV[2], 'b', ARGV[7], 'l', late and '1' or '0')\n"
    "end\n"
    "redis.call('HSET', KEYS[3], ARGV[9], status)\n"
    "redis.call('XADD', KEYS[5], '*', 'event', ARGV[8])\n"
    "local out = redis.call('HGETALL', KEYS[4])\n"
    "table.insert(out, 1, 0)\n"
    "return out\n";

/* KEYS: [1] campaign, [2] statuses (rs), [3] report, [4] stream.
 * ARGV: [1] "approve" | "return", [2] now, [3] actor, [4] comment, [5] the reviewer's municipality ("*" =
 * any), [6] DomainEvent bytes, [7] organization id.
 * Codes: 1 no campaign, 2 campaign not open, 3 no report, 4 not submitted (detail: status), 8 another
 * municipality's report. */
static const char s_review_lua[] =
    "local a = redis.call('HGET', KEYS[1], 'a')\n"
    "if not a then return {1, ''} end\n"
    "if not string.find(a, '|st:open|', 1, true) then return {2, ''} end\n"
    "local s = redis.call('HGET', KEYS[3], 's')\n"
    "if not s then return {3, ''} end\n"
    "local m = redis.call('HGET', KEYS[3], 'm') or ''\n"
    "if ARGV[5] ~= '*' and m ~= ARGV[5] then return {8, ''} end\n"
    "if s ~= '2' then return {4, s} end\n"
    "local status = ARGV[1] == 'approve' and '3' or '4'\n"
    "redis.call('HINCRBY', KEYS[3], 'v', 1)\n"
    "redis.call('HSET', KEYS[3], 's', status, 'ra', ARGV[2], 'rb', ARGV[3], 'k', ARGV[4], 'u', ARGV[2])\n"
    "redis.call('HSET', KEYS[2], ARGV[7], status)\n"
    "redis.call('XADD', KEYS[4], '*', 'event', ARGV[6])\n"
    "local out = redis.call('HGETALL', KEYS[3])\n"
    "table.insert(out, 1, 0)\n"
    "return out\n";

/* KEYS: [1] scope (req). ARGV: organization, municipality pairs. Returns {0, n}. */
static const char s_scope_lua[] = "redis.call('DEL', KEYS[1])\n"
                                  "for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end\n"
                                  "return {0, #ARGV / 2}\n";

/* KEYS: [1] statuses (rs), [2] the snapshot, [3] scope (req). ARGV: [1] the report key prefix
 * ("mon:{r:R}:report:<campaign>:"), [2] now, [3] period, [4] required.
 * Returns {0, approved} when written, {1, 0} when that version exists already (never rewritten). */
static const char s_snapshot_lua[] =
    "if redis.call('EXISTS', KEYS[2]) == 1 then return {1, 0} end\n"
    "local st = redis.call('HGETALL', KEYS[1])\n"
    "local n = 0\n"
    "for i = 1, #st, 2 do\n"
    "  if st[i + 1] == '3' then\n"
    "    local d = redis.call('HGET', ARGV[1] .. st[i], 'd') or ''\n"
    "    local m = redis.call('HGET', KEYS[3], st[i]) or ''\n"
    "    redis.call('HSET', KEYS[2], st[i], m .. '\\n' .. d)\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', KEYS[2], '@at', ARGV[2], '@period', ARGV[3], '@required', ARGV[4], '@approved', n, "
    "'@ind', 'pending')\n"
    "return {0, n}\n";

/* KEYS: [1] scope (req), [2] statuses (rs): both read at one moment, for the progress and the list. */
static const char s_overview_lua[] = "return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}\n";

/* KEYS: [1] scope (req), [2] statuses (rs). ARGV: [1] the report key prefix ("mon:{r:R}:report:<campaign>:").
 * Returns {scope pairs, status pairs, {organization, municipality, packed values, …} of the approved}. */
static const char s_figures_lua[] = "local req = redis.call('HGETALL', KEYS[1])\n"
                                    "local st = redis.call('HGETALL', KEYS[2])\n"
                                    "local out = {}\n"
                                    "for i = 1, #st, 2 do\n"
                                    "  if st[i + 1] == '3' then\n"
                                    "    local h = redis.call('HMGET', ARGV[1] .. st[i], 'm', 'd')\n"
                                    "    out[#out + 1] = st[i]\n"
                                    "    out[#out + 1] = h[1] or ''\n"
                                    "    out[#out + 1] = h[2] or ''\n"
                                    "  end\n"
                                    "end\n"
                                    "return {req, st, out}\n";

static const char *const s_scripts[] = {s_save_lua,     s_review_lua,   s_scope_lua,
                                        s_snapshot_lua, s_overview_lua, s_figures_lua};

const char *const *monitoring_lua_scripts(size_t *n)
{
    *n = sizeof s_scripts / sizeof s_scripts[0];
    return s_scripts;
}

int monitoring_scripts_load(monitoring_service *svc)
{
    svc->save_script = redis_link_script(svc->link, s_save_lua);
    svc->review_script = redis_link_script(svc->link, s_review_lua);
    svc->scope_script = redis_link_script(svc->link, s_scope_lua);
    svc->snapshot_script = redis_link_script(svc->link, s_snapshot_lua);
    svc->overview_script = redis_link_script(svc->link, s_overview_lua);
    svc->figures_script = redis_link_script(svc->link, s_figures_lua);
    return svc->save_script && svc->review_script && svc->scope_script && svc->snapshot_script &&
                   svc->overview_script && svc->figures_script
               ? 0
               : -1;
}
