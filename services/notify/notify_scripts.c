/* notify_scripts — the Lua scripts of the notify service, in one place for tests/unit/test_redis_acl.c
 * (every command they call must be granted to the "notify" user in ops/redis-acl.conf). What each does
 * is told where it is run: notify_consumer.c (record), notify_delivery.c (claim, complete),
 * notify_webhooks.c (deliveries, retry). */
#include "notify_internal.h"

const char notify_record_lua[] =
    "if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {0} end\n"
    "local now = tonumber(ARGV[2])\n"
    "local keep = now - 691200000\n"
    "redis.call('ZADD', KEYS[1], now, ARGV[1])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', keep)\n"
    "local fid = redis.call('XADD', KEYS[2], 'MINID', '~', tostring(keep) .. '-0', '*', 'n', ARGV[3])\n"
    "local seen = {}\n"
    "local count = 0\n"
    "for i = 8, #ARGV do\n"
    "  local subs = redis.call('ZRANGE', ARGV[i], 0, -1)\n"
    "  for _, w in ipairs(subs) do\n"
    "    if not seen[w] then\n"
    "      seen[w] = true\n"
    "      local k = redis.call('INCR', KEYS[4])\n"
    "      local d = ARGV[7] .. '-d' .. k\n"
    "      redis.call('HSET', ARGV[6] .. 'dlv:' .. d, 'w', w, 'n', ARGV[4], 'f', fid, 't', ARGV[5], 's', 'pending',\n"
    "                 'a', 0, 'na', now, 'c', now, 'u', now)\n"
    "      redis.call('ZADD', KEYS[3], now, d)\n"
    "      redis.call('ZADD', ARGV[6] .. 'ix:dlv:' .. w, k, d)\n"
    "      count = count + 1\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return {1, fid, count}\n";

const char notify_claim_lua[] =
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))\n"
    "local out = {}\n"
    "for _, d in ipairs(ids) do\n"
    "  local h = redis.call('HMGET', ARGV[4] .. 'dlv:' .. d, 'w', 'n', 'f', 't', 'a', 's', 'c')\n"
    "  if not h[1] or h[6] ~= 'pending' then\n"
    "    redis.call('ZREM', KEYS[1], d)\n"
    "  else\n"
    "    redis.call('ZADD', KEYS[1], ARGV[2], d)\n"
    "    local wh = redis.call('HGET', ARGV[4] .. 'webhook:' .. h[1], 'd') or ''\n"
    "    local entry = redis.call('XRANGE', ARGV[4] .. 'feed', h[3], h[3])\n"
    "    local body = ''\n"
    "    if entry[1] then body = entry[1][2][2] end\n"
    "    out[#out + 1] = {d, h[1], h[2], h[3], h[4], h[5], h[7], wh, body}\n"
    "  end\n"
    "end\n"
    "return out\n";

const char notify_complete_lua[] =
    "if redis.call('EXISTS', KEYS[2]) == 0 then\n"
    "  redis.call('ZREM', KEYS[1], ARGV[9])\n"
    "  return {0}\n"
    "end\n"
    "if ARGV[8] ~= '' then\n"
    "  redis.call('HINCRBY', KEYS[2], 'a', 1)\n"
    "  redis.call('LPUSH', KEYS[3], ARGV[8])\n"
    "  redis.call('LTRIM', KEYS[3], 0, 19)\n"
    "end\n"
    "redis.call('HSET', KEYS[2], 's', ARGV[1], 'u', ARGV[2], 'rc', ARGV[4], 'dm', ARGV[5], 'le', ARGV[6], 'lx',\n"
    "           ARGV[7], 'na', ARGV[3])\n"
    "if ARGV[1] == 'pending' then\n"
    "  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[9])\n"
    "else\n"
    "  redis.call('ZREM', KEYS[1], ARGV[9])\n"
    "end\n"
    "if ARGV[1] == 'succeeded' then\n"
    "  redis.call('HSET', KEYS[4], 'ok', ARGV[2])\n"
    "  return {1, 0, 0}\n"
    "end\n"
    "local disable = 0\n"
    "if ARGV[1] == 'failed' and ARGV[4] ~= '410' and ARGV[8] ~= '' then\n"
    "  local created = tonumber(redis.call('HGET', KEYS[2], 'c') or '0')\n"
    "  local ok = tonumber(redis.call('HGET', KEYS[4], 'ok') or '0')\n"
    "  if ok < created then disable = 1 end\n"
    "end\n"
    "return {1, 0, disable}\n";

const char notify_deliveries_lua[] =
    "local max = '+inf'\n"
    "if ARGV[1] ~= '' then max = '(' .. ARGV[1] end\n"
    "local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], max, '-inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))\n"
    "local out = {}\n"
    "for i = 1, #ids, 2 do\n"
    "  local d = ids[i]\n"
    "  out[#out + 1] = {d, ids[i + 1], redis.call('HGETALL', ARGV[3] .. 'dlv:' .. d),\n"
    "                   redis.call('LRANGE', ARGV[3] .. 'dlvlog:' .. d, 0, 19)}\n"
    "end\n"
    "return out\n";

const char notify_retry_lua[] = "if redis.call('HGET', KEYS[1], 'w') ~= ARGV[1] then return {} end\n"
                                "redis.call('HSET', KEYS[1], 's', 'pending', 'na', ARGV[2], 'u', ARGV[2])\n"
                                "redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])\n"
                                "return {redis.call('HGETALL', KEYS[1]), redis.call('LRANGE', KEYS[3], 0, 19)}\n";

const char *const *notify_lua_scripts(size_t *n)
{
    static const char *const scripts[] = {notify_record_lua, notify_claim_lua, notify_complete_lua, notify_retry_lua,
                                          notify_deliveries_lua};
    *n = sizeof scripts / sizeof scripts[0];
    return scripts;
}
