-- values.lua — the numerators and denominators of I1–I13 for one scope and period, and of its children
-- (by municipality, organization or subject), from the indicators' own state (apply.lua). Every person
-- of the scope is counted once per bucket (a person of two schools of one municipality: once in the
-- municipality, once in each school). KEYS[1] ind:{r:R}:ppl:<scope>. ARGV: prefix "ind:{r:R}:", scope
-- kind, scope id, region id, period start, end (YYYY-MM-DD), by, young age limit.
-- Reply: flat list of rows {bucket, name, indicator, subject, numerator, denominator}.
local P, kind, sid, region, pstart, pend, by = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local young_age = tonumber(ARGV[8]) or 35

local function split(s, sep)
  local out = {}
  if s == nil or s == false or s == '' then return out end
  for part in string.gmatch(s, '[^' .. sep .. ']+') do out[#out + 1] = part end
  return out
end
local function fields(s)
  local out, i = {}, 1
  for part in string.gmatch((s or '') .. '|', '([^|]*)|') do out[i] = part  i = i + 1 end
  return out
end
local ry, rm, rd = string.match(pend, '^(%d+)-(%d+)-(%d+)$')
ry = tonumber(ry)
local minus3 = string.format('%04d-%s-%s', ry - 3, rm, rd)
local function age_below(birth, limit)
  local by_, bm, bd = string.match(birth or '', '^(%d+)-(%d+-%d+)$')
  if not by_ then return false end
  local age = ry - tonumber(by_)
  if (rm .. '-' .. rd) < bm then age = age - 1 end
  return age < limit
end
local function in_p(d) return d ~= nil and d ~= '' and d >= pstart and d <= pend end

local org_cache, camp = {}, {}
local camps = redis.call('HGETALL', P .. 'camp')
for i = 1, #camps, 2 do camp[camps[i]] = camps[i + 1] == '1' end
local function org(id)
  local o = org_cache[id]
  if o == nil then
    local h = redis.call('HMGET', P .. 'o:' .. id, 'edu', 'muni', 'mun', 'name', 'region')
    o = {edu = h[1] == '1', muni = h[1] == '1' and h[2] == '1', mun = h[3] or '', name = h[4] or '', region = h[5] or ''}
    org_cache[id] = o
  end
  return o
end
local function in_scope(o)
  if kind == 'region' then return o.region == sid end
  if kind == 'municipality' then return o.mun == sid end
  return false
end
local prog_cache = {}
local function prog(id)
  local p = prog_cache[id]
  if p == nil then
    local h = redis.call('HMGET', P .. 'prog:' .. id, 'fr', 'comps', 'quality')
    p = {fr = h[1] == '1', comps = split(h[2], ','), quality = h[3] == '1'}
    prog_cache[id] = p
  end
  return p
end
local sp_cache = {}
local function sp_kind(id)
  if id == nil or id == '' then return nil end
  local k = sp_cache[id]
  if k == nil then
    local h = redis.call('HMGET', P .. 'sp:' .. id, 'kind', 'from', 'to')
    k = h[1] or ''
    sp_cache[id] = k
  end
  return k
end
local ev_cache = {}
local function event(id)
  local e = ev_cache[id]
  if e == nil then
    local h = redis.call('HMGET', P .. 'ev:' .. id, 'date', 'sp')
    e = {date = h[1] or '', sp = h[2] or ''}
    ev_cache[id] = e
  end
  return e
end
local assoc_net = {}
local function assoc_is_network(id)
  local v = assoc_net[id]
  if v == nil then
    v = redis.call('HGET', P .. 'a:' .. id, 'net') == '1'
    assoc_net[id] = v
  end
  return v
end

-- counters[bucket][indicator] = {num, den}, bucket '' is the scope itself
local counters, names, order = {}, {}, {}
local function bucket(b, name)
  if counters[b] == nil then
    counters[b] = {}
    names[b] = name
    order[#order + 1] = b
  end
  return counters[b]
end
local function add(c, ind, n, d)
  local v = c[ind]
  if v == nil then v = {0, 0}  c[ind] = v end
  v[1] = v[1] + n
  v[2] = v[2] + d
end
bucket('', '')

-- managers and trained managers per educational organization of the scope (I12)
local mgr, trained_n = {}, {}
-- the people of the scope; only those in P..'facts' have records beyond their own (apply.lua)
local has_facts = {}
for _, id in ipairs(redis.call('SMEMBERS', P .. 'facts')) do has_facts[id] = true end
local function hgetall(key, pid)
  if not has_facts[pid] then return {} end
  return redis.call('HGETALL', key)
end
local function hvals(key, pid)
  if not has_facts[pid] then return {} end
  return redis.call('HVALS', key)
end
local people = redis.call('SMEMBERS', KEYS[1])
for _, pid in ipairs(people) do
  local h = redis.call('HMGET', P .. 'p:' .. pid, 'active', 'cat', 'birth', 'start', 'subj', 'orgs')
  if h[1] == '1' then
    local teacher, manager = h[2] == 'teacher', h[2] == 'manager'
    -- the person's organizations inside the scope
    local mine = {}
    for _, oid in ipairs(split(h[6], ',')) do
      local o = org(oid)
      if (kind == 'organization' and oid == sid) or in_scope(o) then mine[#mine + 1] = {id = oid, o = o} end
    end
    if #mine > 0 and (teacher or manager) then
      -- facts of the person
      local diag, indep_before = false, {}
      local res = hgetall(P .. 'res:' .. pid, pid)
      for i = 1, #res, 2 do
        local f = fields(res[i + 1])
        if camp[f[1]] then
          if in_p(f[2]) then diag = true end
          indep_before[#indep_before + 1] = f
        end
      end
      local young = age_below(h[3], young_age)
      local early = (h[4] or '') ~= '' and h[4] > minus3 and h[4] <= pend
      local att_any, att_young = false, false
      local att = hgetall(P .. 'att:' .. pid, pid)
      for i = 1, #att, 2 do
        local e = event(att[i + 1])
        if in_p(e.date) then
          att_any = true
          if sp_kind(e.sp) == 'young_support' then att_young = true end
        end
      end
      local net, member_p = false, false
      local mem = hgetall(P .. 'mem:' .. pid, pid)
      for i = 1, #mem, 2 do
        local f = fields(mem[i + 1])
        local joined, left = f[2], f[3]
        if joined <= pend and (left == '' or pend < left) and assoc_is_network(f[1]) then net = true end
        if joined <= pend and (left == '' or left > pstart) then member_p = true end
      end
      -- pairs (mentoring service): role|programme|from|to|mentor (of a mentee's pair); the mentor certified
      -- during the pair: certified on or before its end (open: the reference date)
      local pair_m, pair_cert, pair_young, mentee_p = false, false, false, false
      local pairs_ = hvals(P .. 'pair:' .. pid, pid)
      for _, v in ipairs(pairs_) do
        local f = fields(v)
        if f[3] ~= '' and f[3] <= pend and (f[4] == '' or f[4] >= pstart) then
          local k = sp_kind(f[2])
          if k == 'mentoring' then
            pair_m = true
            if f[1] == 'mentee' and (f[5] or '') ~= '' then
              local cert = redis.call('HGET', P .. 'mt', f[5])
              if cert and cert <= pend and (f[4] == '' or cert <= f[4]) then pair_cert = true end
            end
          end
          if f[1] == 'mentee' then
            mentee_p = true
            if k == 'young_support' then pair_young = true end
          end
        end
      end
      local i11 = false
      local route_p = false
      if teacher then
        local q = hgetall(P .. 'q:' .. pid, pid)
        for i = 1, #q, 2 do
          local f = fields(q[i + 1])
          if f[1] ~= '' and in_p(f[2]) then
            local p = prog(f[1])
            if p.fr then
              for _, r in ipairs(indep_before) do
                if r[2] < f[2] then
                  for _, d in ipairs(split(r[3], ',')) do
                    for _, c in ipairs(p.comps) do if c == d then i11 = true end end
                  end
                end
              end
            end
          end
        end
        local route = hvals(P .. 'route:' .. pid, pid)
        for _, v in ipairs(route) do
          local f = fields(v)
          if (f[1] == 'in_progress' or f[1] == 'done') and in_p(f[2]) then route_p = true end
        end
      end
      if manager then
        local trained = false
        for _, v in ipairs(hvals(P .. 'q:' .. pid, pid)) do
          local f = fields(v)
          if f[1] ~= '' and f[2] > minus3 and f[2] <= pend and prog(f[1]).quality then trained = true end
        end
        for _, m in ipairs(mine) do
          if m.o.edu then
            mgr[m.id] = (mgr[m.id] or 0) + 1
            if trained then trained_n[m.id] = (trained_n[m.id] or 0) + 1 end
          end
        end
      end
      -- buckets of this person: the scope, and the children asked for
      local bs = {{b = '', orgs = mine}}
      if by == 'municipality' then
        local seen = {}
        for _, m in ipairs(mine) do
          if seen[m.o.mun] == nil then
            seen[m.o.mun] = {b = m.o.mun, orgs = {}}
            bs[#bs + 1] = seen[m.o.mun]
          end
          local t = seen[m.o.mun].orgs
          t[#t + 1] = m
        end
      elseif by == 'organization' then
        for _, m in ipairs(mine) do bs[#bs + 1] = {b = m.id, orgs = {m}, name = m.o.name} end
      end
      for _, x in ipairs(bs) do
        local c = bucket(x.b, x.name)
        local municipal = false
        for _, m in ipairs(x.orgs) do if m.o.muni then municipal = true end end
        if teacher then
          if municipal then add(c, 'I1', diag and 1 or 0, 1) end
          if young then add(c, 'I4', (att_young or pair_young) and 1 or 0, 1) end
          add(c, 'I6', pair_m and 1 or 0, 1)
          add(c, 'I7', pair_cert and 1 or 0, 1)
          add(c, 'I9', net and 1 or 0, 1)
          add(c, 'I11', i11 and 1 or 0, 1)
          if young and early then
            add(c, 'I13', (mentee_p or member_p or att_any or route_p) and 1 or 0, 1)
          end
        else
          add(c, 'I2', diag and 1 or 0, 1)
        end
      end
      if by == 'subject' and teacher then
        local municipal = false
        for _, m in ipairs(mine) do if m.o.muni then municipal = true end end
        if municipal then
          for _, s in ipairs(split(h[5], ',')) do add(bucket('s:' .. s, s), 'I1', diag and 1 or 0, 1) end
        end
      end
    end
  end
end

-- I12: organizations (educational kinds) of the scope with ≥1 manager, all of them trained in quality
-- management within the 3 years ending on the reference date (managers and trained counted per organization
-- in the people loop above: every manager of an organization of the scope is a person of the scope).
local i12_orgs = {}
for oid, _ in pairs(mgr) do i12_orgs[#i12_orgs + 1] = oid end
table.sort(i12_orgs)
for _, oid in ipairs(i12_orgs) do
  local o = org(oid)
  local n = (trained_n[oid] or 0) == mgr[oid] and 1 or 0
  add(counters[''], 'I12', n, 1)
  if by == 'municipality' then add(bucket(o.mun), 'I12', n, 1) end
  if by == 'organization' then add(bucket(oid, o.name), 'I12', n, 1) end
end

-- I10: associations whose home lies in the scope, active on the reference date.
local function assoc_count(scope)
  local n = 0
  for _, aid in ipairs(redis.call('SMEMBERS', P .. 'assocs:' .. scope)) do
    local created = redis.call('HGET', P .. 'a:' .. aid, 'created') or ''
    if created ~= '' and created <= pend then n = n + 1 end
  end
  return n
end
-- I3, I5, I8: support programmes of a kind active in P owned by the scope or inside it.
local function programmes(scope, want)
  local n = 0
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'sps:' .. scope)) do
    local h = redis.call('HMGET', P .. 'sp:' .. id, 'kind', 'from', 'to')
    if h[1] == want and (h[2] or '') <= pend and ((h[3] or '') == '' or h[3] >= pstart) then n = n + 1 end
  end
  return n
end
for _, b in ipairs(order) do
  if string.sub(b, 1, 2) ~= 's:' then
    local scope = (b == '') and sid or b
    local c = counters[b]
    add(c, 'I10', assoc_count(scope), 0)
    add(c, 'I3', programmes(scope, 'young_support'), 0)
    add(c, 'I5', programmes(scope, 'mentoring'), 0)
    add(c, 'I8', programmes(scope, 'association_support'), 0)
  end
end

local out = {}
for _, b in ipairs(order) do
  local name = names[b] or ''
  if name == '' and b ~= '' and string.sub(b, 1, 2) ~= 's:' then
    name = redis.call('HGET', P .. 'm:' .. b, 'name') or redis.call('HGET', P .. 'o:' .. b, 'name') or ''
  end
  for ind, v in pairs(counters[b]) do
    local subject = ''
    local bb = b
    if string.sub(b, 1, 2) == 's:' then subject = string.sub(b, 3) end
    out[#out + 1] = bb
    out[#out + 1] = name
    out[#out + 1] = ind
    out[#out + 1] = subject
    out[#out + 1] = tostring(v[1])
    out[#out + 1] = tostring(v[2])
  end
end
return out
