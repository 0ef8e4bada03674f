-- person.lua — shared by apply.lua and values.lua (embed_lua.cmake puts it in front of each at build time):
-- a person's facts as read from the indicators' state, the person's contribution to the counters of a
-- period, the registered periods and the counter writes. A period's counters are hashes
-- P..'c:'..K..':'..bucket (K = "start..end@young age", bucket = an organization, municipality or region
-- id) with the fields pp (people counted: active teachers and managers with an organization there),
-- n:<I>/d:<I> (numerator, denominator), n:I1:<subject>/d:I1:<subject>, and in an organization's bucket mg/tr
-- (its managers, and those trained in quality management: I12 is counted over organizations on read).
-- A period is the same function of the state whether built by the scan (values.lua, on its first read)
-- or kept by apply.lua (old contribution out, new one in, for each person a fact touches).

local function ind_split(s, sep)
  local out = {}
  if s == nil or s == false or s == '' then return out end
  for part in string.gmatch(s, '[^' .. (sep or ',') .. ']+') do out[#out + 1] = part end
  return out
end

local function ind_fields(s)
  local out, i = {}, 1
  for part in string.gmatch((s or '') .. '|', '([^|]*)|') do out[i] = part  i = i + 1 end
  return out
end

-- a period: start, end (YYYY-MM-DD), the young age limit; the key of its counters
local function ind_period(pstart, pend, age)
  local ry, rm, rd = string.match(pend or '', '^(%d+)-(%d+)-(%d+)$')
  if not ry then return nil end
  ry = tonumber(ry)
  age = tonumber(age) or 35
  return {start = pstart, stop = pend, age = age, ry = ry, md = rm .. '-' .. rd,
    minus3 = string.format('%04d-%s-%s', ry - 3, rm, rd), key = pstart .. '..' .. pend .. '@' .. tostring(age)}
end

-- the shadow state of a recompute ("…:chk:") records every key it writes, for drop.lua
local function ind_track(P)
  if string.find(P, ':chk:', 1, true) ~= nil then
    return function(key) redis.call('SADD', P .. 'keys', key) end
  end
  return function(_) end
end

-- A reader of the state under P with its caches: one for the state before a change, one after.
local function ind_reader(P)
  local R = {}
  local orgs, progs, kinds, events, camps, nets, certs = {}, {}, {}, {}, {}, {}, {}
  function R.org(id)
    local o = orgs[id]
    if o == nil then
      local h = redis.call('HMGET', P .. 'o:' .. id, 'edu', 'muni', 'mun', 'name', 'region')
      o = {edu = h[1] == '1', muni = h[1] == '1' and h[2] == '1', mun = h[3] or '', name = h[4] or '',
        region = h[5] or ''}
      orgs[id] = o
    end
    return o
  end
  local function prog(id)
    local p = progs[id]
    if p == nil then
      local h = redis.call('HMGET', P .. 'prog:' .. id, 'fr', 'comps', 'quality')
      p = {fr = h[1] == '1', comps = ind_split(h[2]), quality = h[3] == '1'}
      progs[id] = p
    end
    return p
  end
  local function sp_kind(id)
    if id == nil or id == '' then return '' end
    local k = kinds[id]
    if k == nil then
      k = redis.call('HGET', P .. 'sp:' .. id, 'kind') or ''
      kinds[id] = k
    end
    return k
  end
  local function event(id)
    local e = events[id]
    if e == nil then
      local h = redis.call('HMGET', P .. 'ev:' .. id, 'date', 'sp')
      e = {date = h[1] or '', kind = sp_kind(h[2] or '')}
      events[id] = e
    end
    return e
  end
  local function independent(id)
    local v = camps[id]
    if v == nil then
      v = redis.call('HGET', P .. 'camp', id) == '1'
      camps[id] = v
    end
    return v
  end
  local function network(id)
    local v = nets[id]
    if v == nil then
      v = redis.call('HGET', P .. 'a:' .. id, 'net') == '1'
      nets[id] = v
    end
    return v
  end
  local function cert(staff)
    local v = certs[staff]
    if v == nil then
      v = redis.call('HGET', P .. 'mt', staff) or ''
      certs[staff] = v
    end
    return v
  end
  -- the facts of an active teacher or manager (nil for anyone else)
  function R.load(pid)
    local h = redis.call('HMGET', P .. 'p:' .. pid, 'active', 'cat', 'birth', 'start', 'subj', 'orgs')
    if h[1] ~= '1' or (h[2] ~= 'teacher' and h[2] ~= 'manager') then return nil end
    local F = {teacher = h[2] == 'teacher', birth = h[3] or '', start = h[4] or '', subj = ind_split(h[5]),
      orgs = {}, res = {}, att = {}, mem = {}, pairs = {}, q = {}, route = {}}
    local seen = {}
    for _, oid in ipairs(ind_split(h[6])) do
      if not seen[oid] then
        seen[oid] = true
        F.orgs[#F.orgs + 1] = {id = oid, o = R.org(oid)}
      end
    end
    if #F.orgs == 0 then return nil end
    -- only people in P..'facts' have records beyond their own
    if redis.call('SISMEMBER', P .. 'facts', pid) == 0 then return F end
    local res = redis.call('HVALS', P .. 'res:' .. pid)
    for _, v in ipairs(res) do
      local f = ind_fields(v)
      if independent(f[1]) then F.res[#F.res + 1] = {date = f[2], deficits = ind_split(f[3])} end
    end
    for _, eid in ipairs(redis.call('HVALS', P .. 'att:' .. pid)) do F.att[#F.att + 1] = event(eid) end
    for _, v in ipairs(redis.call('HVALS', P .. 'mem:' .. pid)) do
      local f = ind_fields(v)
      F.mem[#F.mem + 1] = {joined = f[2], left = f[3], net = network(f[1])}
    end
    -- pairs (mentoring service): role|programme|from|to|mentor (of a mentee's pair)
    for _, v in ipairs(redis.call('HVALS', P .. 'pair:' .. pid)) do
      local f = ind_fields(v)
      F.pairs[#F.pairs + 1] = {role = f[1], kind = sp_kind(f[2]), from = f[3], to = f[4],
        cert = (f[5] or '') ~= '' and cert(f[5]) or ''}
    end
    for _, v in ipairs(redis.call('HVALS', P .. 'q:' .. pid)) do
      local f = ind_fields(v)
      if f[1] ~= '' then
        local p = prog(f[1])
        F.q[#F.q + 1] = {date = f[2], fr = p.fr, comps = p.comps, quality = p.quality}
      end
    end
    for _, v in ipairs(redis.call('HVALS', P .. 'route:' .. pid)) do
      local f = ind_fields(v)
      F.route[#F.route + 1] = {status = f[1], date = f[2]}
    end
    return F
  end
  return R
end

local function ind_add(acc, b, field, v)
  local c = acc[b]
  if c == nil then c = {}  acc[b] = c end
  c[field] = (c[field] or 0) + v
end

-- sign × the contribution of the person with facts F to period per, into acc[bucket][field]
local function ind_contrib(F, per, acc, sign)
  if F == nil then return end
  local pstart, pend = per.start, per.stop
  local function in_p(d) return d ~= nil and d ~= '' and d >= pstart and d <= pend end
  local diag = false
  for _, r in ipairs(F.res) do if in_p(r.date) then diag = true end end
  local young = false
  local byear, bmd = string.match(F.birth, '^(%d+)-(%d+-%d+)$')
  if byear then
    local age = per.ry - tonumber(byear)
    if per.md < bmd then age = age - 1 end
    young = age < per.age
  end
  local early = F.start ~= '' and F.start > per.minus3 and F.start <= pend
  local att_any, att_young = false, false
  for _, e in ipairs(F.att) do
    if in_p(e.date) then
      att_any = true
      if e.kind == 'young_support' then att_young = true end
    end
  end
  local net, member_p = false, false
  for _, m in ipairs(F.mem) do
    if m.joined <= pend and (m.left == '' or pend < m.left) and m.net then net = true end
    if m.joined <= pend and (m.left == '' or m.left > pstart) then member_p = true end
  end
  -- a pair active in P; the mentor certified during the pair: on or before its end (open: the reference date)
  local pair_m, pair_cert, pair_young, mentee_p = false, false, false, false
  for _, p in ipairs(F.pairs) do
    if p.from ~= '' and p.from <= pend and (p.to == '' or p.to >= pstart) then
      if p.kind == 'mentoring' then
        pair_m = true
        if p.role == 'mentee' and p.cert ~= '' and p.cert <= pend and (p.to == '' or p.cert <= p.to) then
          pair_cert = true
        end
      end
      if p.role == 'mentee' then
        mentee_p = true
        if p.kind == 'young_support' then pair_young = true end
      end
    end
  end
  local i11, route_p, trained = false, false, false
  if F.teacher then
    for _, q in ipairs(F.q) do
      if in_p(q.date) and q.fr then
        for _, r in ipairs(F.res) do
          if r.date < q.date then
            for _, d in ipairs(r.deficits) do
              for _, c in ipairs(q.comps) do if c == d then i11 = true end end
            end
          end
        end
      end
    end
    for _, it in ipairs(F.route) do
      if (it.status == 'in_progress' or it.status == 'done') and in_p(it.date) then route_p = true end
    end
  else
    for _, q in ipairs(F.q) do
      if q.date > per.minus3 and q.date <= pend and q.quality then trained = true end
    end
  end
  -- the buckets: each organization of the person, its municipality and region (once each); municipal: one of
  -- the person's organizations there has a municipal founder and an educational kind (I1)
  local bm, order = {}, {}
  local function bucket(b, muni)
    if b == '' then return end
    if bm[b] == nil then order[#order + 1] = b  bm[b] = false end
    if muni then bm[b] = true end
  end
  for _, m in ipairs(F.orgs) do
    bucket(m.id, m.o.muni)
    bucket(m.o.mun, m.o.muni)
    bucket(m.o.region, m.o.muni)
  end
  local function share(b, ind, yes)
    if yes then ind_add(acc, b, 'n:' .. ind, sign) end
    ind_add(acc, b, 'd:' .. ind, sign)
  end
  for _, b in ipairs(order) do
    ind_add(acc, b, 'pp', sign)
    if F.teacher then
      if bm[b] then
        share(b, 'I1', diag)
        for _, s in ipairs(F.subj) do share(b, 'I1:' .. s, diag) end
      end
      if young then share(b, 'I4', att_young or pair_young) end
      share(b, 'I6', pair_m)
      share(b, 'I7', pair_cert)
      share(b, 'I9', net)
      share(b, 'I11', i11)
      if young and early then share(b, 'I13', mentee_p or member_p or att_any or route_p) end
    else
      share(b, 'I2', diag)
    end
  end
  if not F.teacher then
    for _, m in ipairs(F.orgs) do
      if m.o.edu then
        ind_add(acc, m.id, 'mg', sign)
        if trained then ind_add(acc, m.id, 'tr', sign) end
      end
    end
  end
end

-- writes acc (bucket → field → change) into the counters of period key K
local function ind_flush(P, K, acc, track)
  for b, c in pairs(acc) do
    local key = P .. 'c:' .. K .. ':' .. b
    local any = false
    for f, v in pairs(c) do
      if v ~= 0 then
        redis.call('HINCRBY', key, f, v)
        any = true
      end
    end
    if any then
      redis.call('SADD', P .. 'ck:' .. K, b)
      track(key)
    end
  end
end

-- the registered periods: {key, per, building} (building: the scan has not reached everyone yet; the people
-- still in P..'per:'..K..':todo' are counted when the scan pops them, not by apply.lua)
local function ind_periods(P)
  local out = {}
  for _, K in ipairs(redis.call('ZRANGE', P .. 'periods', 0, -1)) do
    local h = redis.call('HMGET', P .. 'per:' .. K, 'start', 'end', 'age', 'state')
    local per = ind_period(h[1] or '', h[2] or '', h[3])
    if per then out[#out + 1] = {key = K, per = per, building = h[4] ~= 'ready'} end
  end
  return out
end

-- (re)starts the scan of period per: its counters dropped, everyone to be counted again
local function ind_period_start(P, per, track)
  local K = per.key
  for _, b in ipairs(redis.call('SMEMBERS', P .. 'ck:' .. K)) do redis.call('DEL', P .. 'c:' .. K .. ':' .. b) end
  redis.call('DEL', P .. 'ck:' .. K, P .. 'per:' .. K .. ':todo')
  local region = string.match(P, '{r:([^}]+)}') or ''
  redis.call('SUNIONSTORE', P .. 'per:' .. K .. ':todo', P .. 'people', P .. 'ppl:' .. region)
  local total = redis.call('SCARD', P .. 'per:' .. K .. ':todo')
  redis.call('HSET', P .. 'per:' .. K, 'start', per.start, 'end', per.stop, 'age', tostring(per.age),
    'state', 'building', 'total', tostring(total))
  track(P .. 'per:' .. K)
  track(P .. 'per:' .. K .. ':todo')
  track(P .. 'ck:' .. K)
  track(P .. 'periods')
  return total
end

-- removes period K and its counters
local function ind_period_drop(P, K)
  for _, b in ipairs(redis.call('SMEMBERS', P .. 'ck:' .. K)) do redis.call('DEL', P .. 'c:' .. K .. ':' .. b) end
  redis.call('DEL', P .. 'ck:' .. K, P .. 'per:' .. K .. ':todo', P .. 'per:' .. K)
  redis.call('ZREM', P .. 'periods', K)
end
