-- apply.lua — one stream entry of another service applied to the indicators' own state, idempotently,
-- and acknowledged in the same step. KEYS[1] ind:{r:R}:applied (entity → the last stream entry id
-- applied). ARGV: the source stream, group, entry id, prefix "ind:{r:R}:", entity key, op, op args.
-- The source stream is an ARGV, not a KEY: EVALSHA's declared keys must all be the service's own (its ACL
-- user reaches the other prefixes' streams only through the consumer-group commands of its selector,
-- ops/redis-acl.conf); it shares the hash tag {r:R} with the state, so the script stays in one slot.
-- An entry at or below the entity's last applied id changes nothing (a redelivery after a crash), the
-- XACK is sent either way. The state's keys share the stream's hash tag {r:R}.
-- The counters of every registered period (person.lua, in front of this script) follow the fact: for each
-- person the fact touches (the person of a record; the people of an organization, event, support programme,
-- ДПП programme, campaign, association or mentor whose indicator-relevant fields change — reverse sets
-- ppl:, eva:, spp:/spe:, pgp:, cpp:, asp:, mtp:) the old contribution is taken out before the change and the
-- new one put in after it. A change touching more than IND_REEVAL_MAX people (P..'cfg' reeval_max, default
-- 5000) restarts the scan of the registered periods instead (values.lua finishes it on their next read).
local applied_key = KEYS[1]
local stream, group, entry, P, ent, op = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local a = {}
for i = 7, #ARGV do a[#a + 1] = ARGV[i] end

-- A recompute's shadow state (prefix "ind:{r:R}:chk:") records every key it writes in P..'keys', so
-- drop.lua can remove it afterwards.
local seen = ind_track(P)
-- a change touching more people than this restarts the scan of the registered periods instead (cfg: an
-- operator's setting, default 5000)
local IND_REEVAL_MAX = tonumber(redis.call('HGET', P .. 'cfg', 'reeval_max')) or 5000
local function hset(key, ...) seen(key) return redis.call('HSET', key, ...) end
local function hdel(key, ...) seen(key) return redis.call('HDEL', key, ...) end
local function sadd(key, ...) seen(key) return redis.call('SADD', key, ...) end
local function srem(key, ...) seen(key) return redis.call('SREM', key, ...) end
local function del(key) seen(key) return redis.call('DEL', key) end

local function id_parts(s)
  local ms, seq = string.match(s, '^(%d+)-(%d+)$')
  return tonumber(ms) or 0, tonumber(seq) or 0
end
local function newer(x, y)
  local xm, xs = id_parts(x)
  local ym, ys = id_parts(y)
  if xm ~= ym then return xm > ym end
  return xs > ys
end
local split = ind_split

-- the person of a record whose delete event carries no entity
local function owner(staff, id)
  if staff ~= nil and staff ~= '' then
    hset(P .. 'owner', id, staff)
    return staff
  end
  return redis.call('HGET', P .. 'owner', id) or ''
end

local last = redis.call('HGET', applied_key, ent)
if last and not newer(entry, last) then
  redis.call('XACK', stream, group, entry)
  return 0
end

-- the people whose contribution the fact may change, found before it is applied
local touched, n_touched = {}, 0
local function touch(pid)
  if pid and pid ~= '' and not touched[pid] then
    touched[pid] = true
    n_touched = n_touched + 1
  end
end
local function touch_set(key)
  for _, pid in ipairs(redis.call('SMEMBERS', key)) do touch(pid) end
end
local function differs(old, ...)
  local new = {...}
  for i = 1, #new do if (old[i] or '') ~= (new[i] or '') then return true end end
  return false
end
local periods = ind_periods(P)
if #periods > 0 then
  if op == 'staff' or op == 'result' or op == 'route' then
    touch(a[1])
  elseif op == 'qual' or op == 'member' or op == 'registration' then
    touch(a[1] ~= '' and a[1] or redis.call('HGET', P .. 'owner', a[2]))
  elseif op == 'org' then
    local old = redis.call('HMGET', P .. 'o:' .. a[1], 'edu', 'muni', 'mun', 'region')
    if a[2] == '1' or differs(old, a[3], a[4], a[5], a[8]) then touch_set(P .. 'ppl:' .. a[1]) end
  elseif op == 'campaign' then
    if differs({redis.call('HGET', P .. 'camp', a[1])}, a[2]) then touch_set(P .. 'cpp:' .. a[1]) end
  elseif op == 'programme' then
    local old = redis.call('HMGET', P .. 'prog:' .. a[1], 'fr', 'comps', 'quality')
    if a[2] == '1' or differs(old, a[3], a[4], a[5]) then touch_set(P .. 'pgp:' .. a[1]) end
  elseif op == 'assoc' then
    if a[2] == '1' or differs({redis.call('HGET', P .. 'a:' .. a[1], 'net')}, a[3]) then
      touch_set(P .. 'asp:' .. a[1])
    end
  elseif op == 'event' then
    local old = redis.call('HMGET', P .. 'ev:' .. a[1], 'date', 'sp')
    if a[2] == '1' or differs(old, a[3], a[4]) then touch_set(P .. 'eva:' .. a[1]) end
  elseif op == 'sprog' then
    if a[2] == '1' or differs({redis.call('HGET', P .. 'sp:' .. a[1], 'kind')}, a[3]) then
      touch_set(P .. 'spp:' .. a[1])
      for _, eid in ipairs(redis.call('SMEMBERS', P .. 'spe:' .. a[1])) do touch_set(P .. 'eva:' .. eid) end
    end
  elseif op == 'mentor' then
    if differs({redis.call('HGET', P .. 'mt', a[1])}, a[2] == '1' and '' or a[3]) then
      touch_set(P .. 'mtp:' .. a[1])
    end
  elseif op == 'pair' then
    local old = redis.call('HMGET', P .. 'pr:' .. a[1], 'mentor', 'mentee')
    touch(old[1])
    touch(old[2])
    if a[2] ~= '1' then
      touch(a[4])
      touch(a[5])
    end
  end
  if n_touched > IND_REEVAL_MAX then
    for _, x in ipairs(periods) do ind_period_start(P, x.per, seen) end
    periods = {}
  end
end
-- the old contributions out (a person the scan of a building period has not reached yet is skipped: the
-- scan counts them from the state it finds)
local accs, skip = {}, {}
if #periods > 0 and n_touched > 0 then
  local R = ind_reader(P)
  for i, x in ipairs(periods) do
    accs[i] = {}
    skip[i] = {}
    if x.building then
      for pid, _ in pairs(touched) do
        if redis.call('SISMEMBER', P .. 'per:' .. x.key .. ':todo', pid) == 1 then skip[i][pid] = true end
      end
    end
  end
  for pid, _ in pairs(touched) do
    local F = R.load(pid)
    if F then
      for i, x in ipairs(periods) do
        if not skip[i][pid] then ind_contrib(F, x.per, accs[i], -1) end
      end
    end
  end
end

if op == 'staff' then
  -- id, deleted, active, category, birth, start, subjects, orgs, muns, region
  local id, deleted, active = a[1], a[2] == '1', a[3] == '1'
  local pk = P .. 'p:' .. id
  local old = redis.call('HMGET', pk, 'orgs', 'muns', 'region')
  for _, o in ipairs(split(old[1])) do srem(P .. 'ppl:' .. o, id) end
  for _, m in ipairs(split(old[2])) do srem(P .. 'ppl:' .. m, id) end
  if old[3] then srem(P .. 'ppl:' .. old[3], id) end
  if deleted then
    del(pk)
    srem(P .. 'people', id)
  else
    sadd(P .. 'people', id)
    hset(pk, 'active', a[3], 'cat', a[4], 'birth', a[5], 'start', a[6], 'subj', a[7],
      'orgs', a[8], 'muns', a[9], 'region', a[10])
    if active then
      for _, o in ipairs(split(a[8])) do sadd(P .. 'ppl:' .. o, id) end
      for _, m in ipairs(split(a[9])) do sadd(P .. 'ppl:' .. m, id) end
      sadd(P .. 'ppl:' .. a[10], id)
    end
  end
elseif op == 'org' then
  -- id, deleted, educational, municipal founder, municipality, name, shnor, region
  local id, deleted = a[1], a[2] == '1'
  local ok = P .. 'o:' .. id
  local old = redis.call('HMGET', ok, 'mun', 'region')
  if old[1] then srem(P .. 'orgs:' .. old[1], id) end
  if old[2] then srem(P .. 'orgs:' .. old[2], id) end
  if deleted then
    del(ok)
  else
    hset(ok, 'edu', a[3], 'muni', a[4], 'mun', a[5], 'name', a[6], 'shnor', a[7], 'region', a[8])
    sadd(P .. 'orgs:' .. a[5], id)
    sadd(P .. 'orgs:' .. a[8], id)
  end
elseif op == 'mun' then
  -- id, deleted, name
  if a[2] == '1' then
    srem(P .. 'muns', a[1])
    del(P .. 'm:' .. a[1])
  else
    sadd(P .. 'muns', a[1])
    hset(P .. 'm:' .. a[1], 'name', a[3])
  end
elseif op == 'campaign' then
  -- id, independent
  hset(P .. 'camp', a[1], a[2])
elseif op == 'result' then
  -- staff, id, campaign, date, deficits
  hset(P .. 'res:' .. a[1], a[2], a[3] .. '|' .. a[4] .. '|' .. a[5])
  sadd(P .. 'cpp:' .. a[3], a[1])
elseif op == 'programme' then
  -- id, deleted, federal registry, competences, quality-management tag
  if a[2] == '1' then del(P .. 'prog:' .. a[1])
  else hset(P .. 'prog:' .. a[1], 'fr', a[3], 'comps', a[4], 'quality', a[5]) end
elseif op == 'qual' then
  -- staff, id, deleted, programme, completed on, confirmed
  a[1] = owner(a[1], a[2])
  if a[3] == '1' or a[6] ~= '1' then hdel(P .. 'q:' .. a[1], a[2])
  else
    hset(P .. 'q:' .. a[1], a[2], a[4] .. '|' .. a[5])
    sadd(P .. 'pgp:' .. a[4], a[1])
  end
elseif op == 'assoc' then
  -- id, deleted, network, created on, home scopes (comma list: org, municipality, region)
  local id, deleted = a[1], a[2] == '1'
  local ak = P .. 'a:' .. id
  local old = redis.call('HGET', ak, 'homes')
  for _, s in ipairs(split(old)) do srem(P .. 'assocs:' .. s, id) end
  if deleted then del(ak)
  else
    hset(ak, 'net', a[3], 'created', a[4], 'homes', a[5])
    for _, s in ipairs(split(a[5])) do sadd(P .. 'assocs:' .. s, id) end
  end
elseif op == 'member' then
  -- staff, id, deleted, association, joined on, left on
  a[1] = owner(a[1], a[2])
  if a[3] == '1' then hdel(P .. 'mem:' .. a[1], a[2])
  else
    hset(P .. 'mem:' .. a[1], a[2], a[4] .. '|' .. a[5] .. '|' .. a[6])
    sadd(P .. 'asp:' .. a[4], a[1])
  end
elseif op == 'event' then
  -- id, deleted, date, support programme
  if a[2] == '1' then del(P .. 'ev:' .. a[1])
  else
    hset(P .. 'ev:' .. a[1], 'date', a[3], 'sp', a[4])
    if a[4] ~= '' then sadd(P .. 'spe:' .. a[4], a[1]) end
  end
elseif op == 'registration' then
  -- staff, id, event, attended
  a[1] = owner(a[1], a[2])
  if a[4] == '1' then
    hset(P .. 'att:' .. a[1], a[2], a[3])
    sadd(P .. 'eva:' .. a[3], a[1])
  else hdel(P .. 'att:' .. a[1], a[2]) end
elseif op == 'route' then
  -- staff, then per item: status|date (date: completed on, or the route's update day)
  local rk = P .. 'route:' .. a[1]
  del(rk)
  for i = 2, #a do hset(rk, tostring(i - 1), a[i]) end
elseif op == 'sprog' then
  -- id, deleted, kind, from, to, owner scopes (comma list: org, municipality, region)
  local id, deleted = a[1], a[2] == '1'
  local sk = P .. 'sp:' .. id
  local old = redis.call('HGET', sk, 'homes')
  for _, s in ipairs(split(old)) do srem(P .. 'sps:' .. s, id) end
  if deleted then del(sk)
  else
    hset(sk, 'kind', a[3], 'from', a[4], 'to', a[5], 'homes', a[6])
    for _, s in ipairs(split(a[6])) do sadd(P .. 'sps:' .. s, id) end
  end
elseif op == 'mentor' then
  -- staff, deleted, certified on (empty: not certified)
  if a[2] == '1' or a[3] == nil or a[3] == '' then hdel(P .. 'mt', a[1])
  else hset(P .. 'mt', a[1], a[3]) end
elseif op == 'pair' then
  -- id, deleted (or never active), programme, mentor, mentee, from, to
  local id = a[1]
  local pk = P .. 'pr:' .. id
  local old = redis.call('HMGET', pk, 'mentor', 'mentee')
  if old[1] then hdel(P .. 'pair:' .. old[1], id) end
  if old[2] then hdel(P .. 'pair:' .. old[2], id) end
  if a[2] == '1' then del(pk)
  else
    hset(pk, 'prog', a[3], 'mentor', a[4], 'mentee', a[5], 'from', a[6], 'to', a[7])
    hset(P .. 'pair:' .. a[4], id, 'mentor|' .. a[3] .. '|' .. a[6] .. '|' .. a[7] .. '|')
    hset(P .. 'pair:' .. a[5], id, 'mentee|' .. a[3] .. '|' .. a[6] .. '|' .. a[7] .. '|' .. a[4])
    sadd(P .. 'facts', a[4], a[5])
    sadd(P .. 'spp:' .. a[3], a[4], a[5])
    sadd(P .. 'mtp:' .. a[4], a[5])
  end
end

-- the people with any result, completion, membership, attendance or route item: values.lua reads
-- those records only for them
if (op == 'result' or op == 'qual' or op == 'member' or op == 'registration' or op == 'route') and
    a[1] ~= nil and a[1] ~= '' then
  sadd(P .. 'facts', a[1])
end
-- the new contributions in
if #periods > 0 and n_touched > 0 then
  local R = ind_reader(P)
  for pid, _ in pairs(touched) do
    local F = R.load(pid)
    if F then
      for i, x in ipairs(periods) do
        if not skip[i][pid] then ind_contrib(F, x.per, accs[i], 1) end
      end
    end
  end
  for i, x in ipairs(periods) do ind_flush(P, x.key, accs[i], seen) end
end
hset(applied_key, ent, entry)
redis.call('XACK', stream, group, entry)
return 1
