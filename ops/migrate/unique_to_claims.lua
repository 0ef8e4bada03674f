-- ops/migrate/unique_to_claims.lua — one-off migration of a store written before the service kit:
-- the registry kept two unique values as single-member sorted sets ("unique indexes"); they are claims
-- now (a hash field per value naming the owner, as external ids always were):
--   reg:{r:R}:ix:member:active:<association>:<staff>  → reg:{r:R}:claim:member:associationStaff "<a>:<s>"
--   reg:{r:R}:ix:qual:route:<route item>               → reg:{r:R}:claim:qual:routeItemId "<item>"
--   auth:{g}:login:<login>                              → auth:{g}:claim:user:login "<login>" (auth's logins)
-- Each old key becomes a claim (kept when one is there already) and is deleted. Idempotent: a store
-- without old keys is left as it is, and once done the store is marked (ops:{g}:migrated:unique_to_claims),
-- so later starts do not walk the keyspace again. Run by ops/up as the "ops" Redis user:
--   redis-cli EVAL "$(cat ops/migrate/unique_to_claims.lua)" 0
-- Returns {memberships moved, route items moved, logins moved}.
local marker = 'ops:{g}:migrated:unique_to_claims'
if redis.call('EXISTS', marker) == 1 then return {0, 0, 0} end

local function migrate(pattern, parse, claims_key)
  local moved, cursor = 0, '0'
  repeat
    local page = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = page[1]
    for _, key in ipairs(page[2]) do
      local region, value = parse(key)
      if region and redis.call('TYPE', key)['ok'] == 'zset' then
        local owners = redis.call('ZRANGE', key, 0, 0)
        if owners[1] then
          redis.call('HSETNX', claims_key(region), value, owners[1])
          moved = moved + 1
        end
        redis.call('DEL', key)
      end
    end
  until cursor == '0'
  return moved
end

local memberships = migrate('reg:{r:*}:ix:member:active:*', function(key)
  local region, association, staff = string.match(key, '^reg:{r:([^}]+)}:ix:member:active:([^:]+):(.+)$')
  if not region then return nil end
  return region, association .. ':' .. staff
end, function(region) return 'reg:{r:' .. region .. '}:claim:member:associationStaff' end)

local route_items = migrate('reg:{r:*}:ix:qual:route:*', function(key)
  return string.match(key, '^reg:{r:([^}]+)}:ix:qual:route:(.+)$')
end, function(region) return 'reg:{r:' .. region .. '}:claim:qual:routeItemId' end)

local logins = migrate('auth:{g}:login:*', function(key)
  local login = string.match(key, '^auth:{g}:login:(.+)$')
  if not login then return nil end
  return 'g', login
end, function() return 'auth:{g}:claim:user:login' end)

redis.call('SET', marker, '1')
return {memberships, route_items, logins}
