/* events_scripts — the Lua scripts of the events service and how they are run: register (capacity,
 * per-municipality quotas and the waitlist decided atomically) and cancel (with its fill mode: the first
 * waitlisted who fit promoted in the same script). See events_registrations.c for the flows.
 *
 * The scripts edit the stored protobuf bytes of the event (registered_count 22, waitlisted_count 23,
 * version 24) and of registrations (status 7, waitlist_position 8, version 11, updated_at 13) by dropping
 * those top-level fields and appending the new values (a protobuf parser keeps the last value of a field),
 * so the records, their versions and the counts never disagree. Each change appends its DomainEvent
 * ("registration.created", "registration.cancelled", "registration.promoted") to the region's stream in the
 * same script: C packs the DomainEvent without the entity, the script appends the entity's id (2),
 * version (3) and bytes (7).
 *
 * Keys: ev:{r:R}:seats:<event> holds "m:<municipality>" = registered of that municipality and "n" = the
 * waitlist sequence; ev:{r:R}:wait:<event> the waitlist (score = sequence).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "events.h"
#include "events_internal.h"
#include "log.h"
#include "pbfield.h"
#include "pbjson.h"
#include "xalloc.h"

/* ---------- the scripts ---------- */

#define PB_LUA                                                                                                         \
    "local function rd_varint(s, i)\n"                                                                                 \
    "  local n, mul = 0, 1\n"                                                                                          \
    "  while true do\n"                                                                                                \
    "    local b = string.byte(s, i)\n"                                                                                \
    "    if b == nil or mul > 2^56 then return nil end\n"                                                              \
    "    i = i + 1\n"                                                                                                  \
    "    n = n + (b % 128) * mul\n"                                                                                    \
    "    if b < 128 then return n, i end\n"                                                                            \
    "    mul = mul * 128\n"                                                                                            \
    "  end\n"                                                                                                          \
    "end\n"                                                                                                            \
    "local function varint(n)\n"                                                                                       \
    "  local out = {}\n"                                                                                               \
    "  repeat\n"                                                                                                       \
    "    local b = n % 128\n"                                                                                          \
    "    n = (n - b) / 128\n"                                                                                          \
    "    if n > 0 then b = b + 128 end\n"                                                                              \
    "    out[#out + 1] = string.char(b)\n"                                                                             \
    "  until n == 0\n"                                                                                                 \
    "  return table.concat(out)\n"                                                                                     \
    "end\n"                                                                                                            \
    "local function scan(s, f)\n"                                                                                      \
    "  local i, len = 1, #s\n"                                                                                         \
    "  while i <= len do\n"                                                                                            \
    "    local from, key = i, nil\n"                                                                                   \
    "    key, i = rd_varint(s, i)\n"                                                                                   \
    "    if not key then return false end\n"                                                                           \
    "    local num, wire, value = math.floor(key / 8), key % 8, nil\n"                                                 \
    "    if wire == 0 then\n"                                                                                          \
    "      value, i = rd_varint(s, i)\n"                                                                               \
    "      if not value then return false end\n"                                                                       \
    "    elseif wire == 1 then i = i + 8\n"                                                                            \
    "    elseif wire == 5 then i = i + 4\n"                                                                            \
    "    elseif wire == 2 then\n"                                                                                      \
    "      local n\n"                                                                                                  \
    "      n, i = rd_varint(s, i)\n"                                                                                   \
    "      if not n then return false end\n"                                                                           \
    "      value = string.sub(s, i, i + n - 1)\n"                                                                      \
    "      i = i + n\n"                                                                                                \
    "    else return false end\n"                                                                                      \
    "    if i > len + 1 then return false end\n"                                                                       \
    "    f(num, wire, value, from, i - 1)\n"                                                                           \
    "  end\n"                                                                                                          \
    "  return true\n"                                                                                                  \
    "end\n"                                                                                                            \
    "local function fields(s)\n"                                                                                       \
    "  local t = {}\n"                                                                                                 \
    "  local ok = scan(s, function(num, wire, value)\n"                                                                \
    "    if wire == 2 then t[num] = t[num] or {} table.insert(t[num], value) elseif wire == 0 then t[num] = value "    \
    "end\n"                                                                                                            \
    "  end)\n"                                                                                                         \
    "  if ok then return t end\n"                                                                                      \
    "  return nil\n"                                                                                                   \
    "end\n"                                                                                                            \
    "local function last(t, n) local l = t[n] if type(l) == 'table' then return l[#l] end return '' end\n"             \
    "local function strip(s, drop)\n"                                                                                  \
    "  local parts = {}\n"                                                                                             \
    "  scan(s, function(num, wire, value, from, to) if not drop[num] then parts[#parts + 1] = string.sub(s, from, "    \
    "to) "                                                                                                             \
    "end end)\n"                                                                                                       \
    "  return table.concat(parts)\n"                                                                                   \
    "end\n"                                                                                                            \
    "local function put_varint(num, n) if n == 0 then return '' end return varint(num * 8) .. varint(n) end\n"         \
    "local function put_bytes(num, b) return varint(num * 8 + 2) .. varint(#b) .. b end\n"                             \
    "local function reg_set(d, status, position, version, now)\n"                                                      \
    "  return strip(d, {[7] = true, [8] = true, [11] = true, [13] = true}) .. put_varint(7, status) ..\n"              \
    "    put_varint(8, position) .. put_varint(11, version) .. put_bytes(13, now)\n"                                   \
    "end\n"                                                                                                            \
    "local function event_set(d, reg, wait, version)\n"                                                                \
    "  return strip(d, {[22] = true, [23] = true, [24] = true}) .. put_varint(22, reg) .. put_varint(23, wait) ..\n"   \
    "    put_varint(24, version)\n"                                                                                    \
    "end\n"                                                                                                            \
    "local function domain_event(prefix, id, version, d)\n"                                                            \
    "  return prefix .. put_bytes(2, id) .. put_varint(3, version) .. put_bytes(7, d)\n"                               \
    "end\n"                                                                                                            \
    "local function quotas_of(e)\n"                                                                                    \
    "  local q = {}\n"                                                                                                 \
    "  for _, raw in ipairs(type(e[19]) == 'table' and e[19] or {}) do\n"                                              \
    "    local f = fields(raw)\n"                                                                                      \
    "    if f then q[last(f, 1)] = f[2] or 0 end\n"                                                                    \
    "  end\n"                                                                                                          \
    "  return q\n"                                                                                                     \
    "end\n"

/* KEYS: [1] event, [2] registration, [3] seats, [4] waitlist, [5] claims, [6] stream, [7..] indexes.
 * ARGV: [1] registration bytes (registered), [2] attributes, [3] claim value, [4] the person's
 * municipality, [5] DomainEvent prefix, [6] registration id, [7] waitlist limit, [8] n indexes, members.
 * Returns {0, status, position, registered, waitlisted} or {code, detail}: 1 no event, 2 id taken,
 * 6 unreadable event, 7 registered already (detail: that registration), 10 not open (detail: status),
 * 11 waitlist full. */
static const char s_register_lua[] =
    PB_LUA "local ev = redis.call('HGET', KEYS[1], 'd')\n"
           "if not ev then return {1, ''} end\n"
           "local e = fields(ev)\n"
           "if not e then return {6, 'event unreadable'} end\n"
           "if (e[20] or 0) ~= 2 then return {10, tostring(e[20] or 0)} end\n"
           "local owner = redis.call('HGET', KEYS[5], ARGV[3])\n"
           "if owner then return {7, owner} end\n"
           "if redis.call('EXISTS', KEYS[2]) == 1 then return {2, ''} end\n"
           "local cap, reg, wait = e[17] or 0, e[22] or 0, e[23] or 0\n"
           "local quota = quotas_of(e)[ARGV[4]]\n"
           "local mkey = 'm:' .. ARGV[4]\n"
           "local used = tonumber(redis.call('HGET', KEYS[3], mkey) or '0')\n"
           "local d, a = ARGV[1], ARGV[2]\n"
           "local status, position = 1, 0\n"
           "if (cap == 0 or reg < cap) and (quota == nil or used < quota) then\n"
           "  reg = reg + 1\n"
           "  redis.call('HINCRBY', KEYS[3], mkey, 1)\n"
           "else\n"
           "  if wait >= tonumber(ARGV[7]) then return {11, ''} end\n"
           "  status = 2\n"
           "  wait = wait + 1\n"
           "  local n = redis.call('HINCRBY', KEYS[3], 'n', 1)\n"
           "  redis.call('ZADD', KEYS[4], n, ARGV[6])\n"
           "  position = redis.call('ZCARD', KEYS[4])\n"
           "  d = strip(d, {[7] = true, [8] = true}) .. put_varint(7, 2) .. put_varint(8, position)\n"
           "  a = string.gsub(a, '|st:registered|', '|st:waitlisted|', 1)\n"
           "end\n"
           "redis.call('HSET', KEYS[2], 'v', '1', 'd', d, 'a', a)\n"
           "local n_ix = tonumber(ARGV[8])\n"
           "for i = 1, n_ix do redis.call('ZADD', KEYS[6 + i], 0, ARGV[8 + i]) end\n"
           "redis.call('HSET', KEYS[5], ARGV[3], ARGV[6])\n"
           "local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0') + 1\n"
           "redis.call('HSET', KEYS[1], 'v', v, 'd', event_set(ev, reg, wait, v))\n"
           "redis.call('XADD', KEYS[6], '*', 'event', domain_event(ARGV[5], ARGV[6], 1, d))\n"
           "return {0, status, position, reg, wait}\n";

/* KEYS: [1] registration (fill: the event again, untouched), [2] event, [3] seats, [4] waitlist, [5] claims,
 * [6] stream. ARGV: [1] expected version ("0" = any), [2] now (RFC 3339), [3] DomainEvent prefix of the
 * cancellation, [4] of a promotion, [5] the registrations' key prefix, [6] "cancel" or "fill".
 * cancel: the registration cancelled, its seat (or place in line) freed, then the fill. fill (after an event
 * got more seats): the waitlisted promoted, first in line first, while they fit (capacity, their
 * municipality's quota). Returns {0, promoted count, the cancelled registration's bytes or ""} or
 * {code, detail}: 1 no registration (no event), 3 version mismatch (detail: stored), 6 unreadable, 12
 * cancelled already, 13 attendance marked, 14 the event is over. */
static const char s_cancel_lua[] =
    PB_LUA "local prefix, now = ARGV[5], ARGV[2]\n"
           "local function fill(e, reg, wait)\n"
           "  if (e[20] or 0) ~= 2 then return reg, wait, 0 end\n"
           "  local cap, quotas, n = e[17] or 0, quotas_of(e), 0\n"
           "  for _, wid in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do\n"
           "    if cap ~= 0 and reg >= cap then break end\n"
           "    local w = redis.call('HMGET', prefix .. wid, 'v', 'd', 'a')\n"
           "    local wf = w[2] and fields(w[2])\n"
           "    if wf then\n"
           "      local wmun = last(wf, 6)\n"
           "      local used = tonumber(redis.call('HGET', KEYS[3], 'm:' .. wmun) or '0')\n"
           "      if quotas[wmun] == nil or used < quotas[wmun] then\n"
           "        local wv = tonumber(w[1]) + 1\n"
           "        local wd = reg_set(w[2], 1, 0, wv, now)\n"
           "        redis.call('HSET', prefix .. wid, 'v', wv, 'd', wd, 'a', (string.gsub(w[3] or '', '|st:[a-z]+|', "
           "'|st:registered|', 1)))\n"
           "        redis.call('ZREM', KEYS[4], wid)\n"
           "        redis.call('HINCRBY', KEYS[3], 'm:' .. wmun, 1)\n"
           "        reg, wait, n = reg + 1, wait - 1, n + 1\n"
           "        redis.call('XADD', KEYS[6], '*', 'event', domain_event(ARGV[4], wid, wv, wd))\n"
           "      end\n"
           "    end\n"
           "  end\n"
           "  return reg, wait, n\n"
           "end\n"
           "local function renumber()\n"
           "  for i, wid in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do\n"
           "    local w = redis.call('HMGET', prefix .. wid, 'v', 'd')\n"
           "    local wf = w[2] and fields(w[2])\n"
           "    if wf and (wf[8] or 0) ~= i then\n"
           "      local wv = tonumber(w[1]) + 1\n"
           "      redis.call('HSET', prefix .. wid, 'v', wv, 'd', reg_set(w[2], 2, i, wv, now))\n"
           "    end\n"
           "  end\n"
           "end\n"
           "local function save_event(ev, reg, wait)\n"
           "  local v = tonumber(redis.call('HGET', KEYS[2], 'v') or '0') + 1\n"
           "  redis.call('HSET', KEYS[2], 'v', v, 'd', event_set(ev, reg, wait, v))\n"
           "end\n"
           "if ARGV[6] == 'fill' then\n"
           "  local ev = redis.call('HGET', KEYS[2], 'd')\n"
           "  local e = ev and fields(ev)\n"
           "  if not e then return {1, ''} end\n"
           "  local reg, wait, n = fill(e, e[22] or 0, e[23] or 0)\n"
           "  if n > 0 then\n"
           "    renumber()\n"
           "    save_event(ev, reg, wait)\n"
           "  end\n"
           "  return {0, n, ''}\n"
           "end\n"
           "local cur = redis.call('HMGET', KEYS[1], 'v', 'd', 'a')\n"
           "if not cur[2] then return {1, ''} end\n"
           "if ARGV[1] ~= '0' and cur[1] ~= ARGV[1] then return {3, cur[1] or ''} end\n"
           "local g = fields(cur[2])\n"
           "if not g then return {6, 'registration unreadable'} end\n"
           "local st = g[7] or 0\n"
           "if st == 3 then return {12, ''} end\n"
           "if st == 4 or st == 5 then return {13, ''} end\n"
           "local ev = redis.call('HGET', KEYS[2], 'd')\n"
           "local e = ev and fields(ev)\n"
           "if not e then return {6, 'event unreadable'} end\n"
           "if (e[20] or 0) == 4 then return {14, ''} end\n"
           "local reg, wait = e[22] or 0, e[23] or 0\n"
           "local id, mun = last(g, 1), last(g, 6)\n"
           "local version = tonumber(cur[1]) + 1\n"
           "local d = reg_set(cur[2], 3, 0, version, now)\n"
           "redis.call('HSET', KEYS[1], 'v', version, 'd', d, 'a', (string.gsub(cur[3] or '', '|st:[a-z]+|', "
           "'|st:cancelled|', 1)))\n"
           "local claim = last(g, 3) .. ':' .. last(g, 4)\n"
           "if redis.call('HGET', KEYS[5], claim) == id then redis.call('HDEL', KEYS[5], claim) end\n"
           "redis.call('XADD', KEYS[6], '*', 'event', domain_event(ARGV[3], id, version, d))\n"
           "local n = 0\n"
           "if st == 2 then\n"
           "  redis.call('ZREM', KEYS[4], id)\n"
           "  wait = wait - 1\n"
           "else\n"
           "  reg = reg - 1\n"
           "  redis.call('HINCRBY', KEYS[3], 'm:' .. mun, -1)\n"
           "  reg, wait, n = fill(e, reg, wait)\n"
           "end\n"
           "renumber()\n"
           "save_event(ev, reg, wait)\n"
           "return {0, n, d}\n";

const char *const *events_lua_scripts(size_t *n)
{
    static const char *const scripts[] = {s_register_lua, s_cancel_lua};
    *n = sizeof scripts / sizeof scripts[0];
    return scripts;
}

int events_scripts_load(events_service *svc)
{
    svc->register_script = redis_link_script(svc->link, s_register_lua);
    svc->cancel_script = redis_link_script(svc->link, s_cancel_lua);
    return svc->register_script && svc->cancel_script ? 0 : -1;
}

/* ---------- shared ---------- */

void events_key(char *out, size_t size, const char *region, const char *what, const char *id)
{
    snprintf(out, size, "ev:{r:%s}:%s:%s", region, what, id);
}

/* "Reply is an array whose first element is an integer code". */
bool events_script_code(const redisReply *reply, long long *code)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER)
        return false;
    *code = reply->element[0]->integer;
    return true;
}

const char *events_reply_text(const redisReply *reply, size_t i)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || i >= reply->elements)
        return "";
    const redisReply *r = reply->element[i];
    return r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ? r->str : "";
}

long long events_reply_int(const redisReply *reply, size_t i)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || i >= reply->elements ||
        reply->element[i]->type != REDIS_REPLY_INTEGER)
        return 0;
    return reply->element[i]->integer;
}

uint8_t *events_event_prefix(const char *type, service_call *call, size_t *len)
{
    return entity_event_pack(type, "", 0, NULL, 0, service_call_caller(call), service_call_request_id(call), len);
}

/* The cancel script in mode "cancel" (registration_id) or "fill" (registration_id NULL). */
int events_cancel_script(events_service *svc, service_call *call, const char *region, const char *registration_id,
                         const char *event_id, int64_t expected_version, const char *mode, redis_link_reply_cb cb,
                         void *ud)
{
    char keys[6][EVENTS_KEY_MAX], expected[24], now[40], key_prefix[EVENTS_KEY_MAX];
    if (registration_id)
        events_key(keys[0], sizeof keys[0], region, "registration", registration_id);
    else
        events_key(keys[0], sizeof keys[0], region, "event", event_id);
    events_key(keys[1], sizeof keys[1], region, "event", event_id);
    events_key(keys[2], sizeof keys[2], region, "seats", event_id);
    events_key(keys[3], sizeof keys[3], region, "wait", event_id);
    entity_kind_claims_key(&events_registration_kind, region, EVENTS_ONCE_CLAIM, keys[4], sizeof keys[4]);
    entity_kind_stream_key(&events_registration_kind, region, keys[5], sizeof keys[5]);
    snprintf(expected, sizeof expected, "%lld", (long long)expected_version);
    clock_rfc3339(clock_unix_ms(), now, sizeof now);
    entity_kind_key_prefix(&events_registration_kind, region, key_prefix, sizeof key_prefix);
    size_t cancel_len = 0, promote_len = 0;
    uint8_t *cancel_prefix = events_event_prefix("registration.cancelled", call, &cancel_len);
    uint8_t *promote_prefix = events_event_prefix("registration.promoted", call, &promote_len);
    const char *argv[12] = {keys[0],
                            keys[1],
                            keys[2],
                            keys[3],
                            keys[4],
                            keys[5],
                            expected,
                            now,
                            (const char *)cancel_prefix,
                            (const char *)promote_prefix,
                            key_prefix,
                            mode};
    size_t argvlen[12];
    for (int i = 0; i < 12; i++)
        argvlen[i] = i == 8 ? cancel_len : i == 9 ? promote_len : strlen(argv[i]);
    int rc = redis_link_evalsha(svc->link, svc->cancel_script, 6, 12, argv, argvlen, cb, ud);
    free(cancel_prefix);
    free(promote_prefix);
    return rc;
}
