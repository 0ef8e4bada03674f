-- values.lua — the numerators and denominators of I1–I13 for one scope and period, and of its children
-- (by municipality, organization or subject), read from the period's counters (person.lua, in front of this
-- script): O(buckets and organizations of the scope), not O(people). A period read for the first time is
-- registered and built by a scan of the region's people, IND chunk people per call: while it is building the
-- reply is {'building', counted, total} and the caller calls again (apply.lua keeps the part already
-- counted up to date meanwhile). Every read marks the period used; beyond the most recently used max
-- periods of the region the oldest is dropped (a later read builds it again).
-- KEYS[1] ind:{r:R}:periods. ARGV: prefix "ind:{r:R}:", scope kind, scope id, region id, period start, end
-- (YYYY-MM-DD), by, young age limit, max periods, chunk.
-- Reply: flat list of rows {bucket, name, indicator, subject, numerator, denominator}.
local P, kind, sid, region, pstart, pend, by = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local max_periods = tonumber(ARGV[9]) or 8
local chunk = tonumber(ARGV[10]) or 2000
local per = ind_period(pstart, pend, ARGV[8])
if per == nil then return redis.error_reply('bad period') end
local K = per.key
local track = ind_track(P)

-- registration, the scan, the least recently used period dropped
local state = redis.call('HGET', P .. 'per:' .. K, 'state')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not state then
  ind_period_start(P, per, track)
  state = 'building'
  redis.call('ZADD', KEYS[1], now, K)
  local n = redis.call('ZCARD', KEYS[1])
  if n > max_periods then
    for _, old in ipairs(redis.call('ZRANGE', KEYS[1], 0, n - max_periods - 1)) do
      if old ~= K then ind_period_drop(P, old) end
    end
  end
end
if state ~= 'ready' then
  local todo = P .. 'per:' .. K .. ':todo'
  local R = ind_reader(P)
  local acc = {}
  for _, pid in ipairs(redis.call('SPOP', todo, chunk)) do ind_contrib(R.load(pid), per, acc, 1) end
  ind_flush(P, K, acc, track)
  local left = redis.call('SCARD', todo)
  local total = tonumber(redis.call('HGET', P .. 'per:' .. K, 'total')) or 0
  if left > 0 then return {'building', tostring(total - left), tostring(total)} end
  redis.call('HSET', P .. 'per:' .. K, 'state', 'ready')
end
redis.call('ZADD', KEYS[1], now, K)

local R = ind_reader(P)
local function counters(b)
  local h = redis.call('HGETALL', P .. 'c:' .. K .. ':' .. b)
  local c = {}
  for i = 1, #h, 2 do c[h[i]] = tonumber(h[i + 1]) or 0 end
  return c
end

-- the organizations of the scope
local orgs = {}
if kind == 'organization' then
  orgs[1] = sid
else
  orgs = redis.call('SMEMBERS', P .. 'orgs:' .. sid)
  table.sort(orgs)
end

-- I12: organizations (educational kinds) with ≥1 manager, all of them trained in quality management within
-- the 3 years ending on the reference date, among ids
local function i12(ids)
  local n, d = 0, 0
  for _, oid in ipairs(ids) do
    if R.org(oid).edu then
      local h = redis.call('HMGET', P .. 'c:' .. K .. ':' .. oid, 'mg', 'tr')
      local mg, tr = tonumber(h[1]) or 0, tonumber(h[2]) or 0
      if mg > 0 then
        d = d + 1
        if tr == mg then n = n + 1 end
      end
    end
  end
  return n, d
end
-- I10: associations whose home lies in the scope, active on the reference date
local function assoc_count(scope)
  local n = 0
  for _, aid in ipairs(redis.call('SMEMBERS', P .. 'assocs:' .. scope)) do
    local created = redis.call('HGET', P .. 'a:' .. aid, 'created') or ''
    if created ~= '' and created <= pend then n = n + 1 end
  end
  return n
end
-- I3, I5, I8: support programmes of a kind active in P owned by the scope or inside it
local function programmes(scope)
  local n = {young_support = 0, mentoring = 0, association_support = 0}
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'sps:' .. scope)) do
    local h = redis.call('HMGET', P .. 'sp:' .. id, 'kind', 'from', 'to')
    if n[h[1] or ''] and (h[2] or '') <= pend and ((h[3] or '') == '' or h[3] >= pstart) then
      n[h[1]] = n[h[1]] + 1
    end
  end
  return n
end

local SHARES = {'I1', 'I2', 'I4', 'I6', 'I7', 'I9', 'I11', 'I13'}
local out = {}
local function row(b, name, ind, subject, n, d)
  out[#out + 1] = b
  out[#out + 1] = name
  out[#out + 1] = ind
  out[#out + 1] = subject
  out[#out + 1] = tostring(n)
  out[#out + 1] = tostring(d)
end
-- one bucket's rows: shares with people in the denominator, I12, the counts
local function bucket_rows(b, scope, name, ids, c)
  for _, ind in ipairs(SHARES) do
    local d = c['d:' .. ind] or 0
    if d > 0 then row(b, name, ind, '', c['n:' .. ind] or 0, d) end
  end
  local n12, d12 = i12(ids)
  if d12 > 0 then row(b, name, 'I12', '', n12, d12) end
  row(b, name, 'I10', '', assoc_count(scope), 0)
  local sp = programmes(scope)
  row(b, name, 'I3', '', sp.young_support, 0)
  row(b, name, 'I5', '', sp.mentoring, 0)
  row(b, name, 'I8', '', sp.association_support, 0)
end

local top = counters(sid)
bucket_rows('', sid, '', orgs, top)
if by == 'subject' then
  local subjects = {}
  for f, d in pairs(top) do
    local s = string.match(f, '^d:I1:(.+)$')
    if s and d > 0 then subjects[#subjects + 1] = s end
  end
  table.sort(subjects)
  for _, s in ipairs(subjects) do row('s:' .. s, s, 'I1', s, top['n:I1:' .. s] or 0, top['d:I1:' .. s]) end
elseif by == 'municipality' then
  local muns, order = {}, {}
  for _, oid in ipairs(orgs) do
    local m = R.org(oid).mun
    if m ~= '' then
      if muns[m] == nil then muns[m] = {}  order[#order + 1] = m end
      muns[m][#muns[m] + 1] = oid
    end
  end
  table.sort(order)
  for _, m in ipairs(order) do
    local c = counters(m)
    if (c.pp or 0) > 0 then bucket_rows(m, m, redis.call('HGET', P .. 'm:' .. m, 'name') or '', muns[m], c) end
  end
elseif by == 'organization' then
  for _, oid in ipairs(orgs) do
    local c = counters(oid)
    if (c.pp or 0) > 0 then bucket_rows(oid, oid, R.org(oid).name, {oid}, c) end
  end
end
return out
