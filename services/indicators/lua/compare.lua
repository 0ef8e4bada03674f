-- compare.lua — the recompute's check of the counters: every field of every bucket of period K in the live
-- state (ARGV[1] "ind:{r:R}:") against the recompute's shadow state (ARGV[2] "ind:{r:R}:chk:"), both built
-- by person.lua, the live one kept incrementally. KEYS[1] the live ck:<K>. ARGV[3] K.
-- Reply: {differences, bucket, field, live, shadow, …} (at most 200 listed), fields at 0 equal missing ones.
local live, shadow, K = ARGV[1], ARGV[2], ARGV[3]
local buckets, seen = {}, {}
for _, p in ipairs({live, shadow}) do
  for _, b in ipairs(redis.call('SMEMBERS', p .. 'ck:' .. K)) do
    if not seen[b] then seen[b] = true  buckets[#buckets + 1] = b end
  end
end
table.sort(buckets)
local out, n = {0}, 0
for _, b in ipairs(buckets) do
  local sides = {}
  for i, p in ipairs({live, shadow}) do
    local h = redis.call('HGETALL', p .. 'c:' .. K .. ':' .. b)
    local t = {}
    for k = 1, #h, 2 do t[h[k]] = tonumber(h[k + 1]) or 0 end
    sides[i] = t
  end
  local fields = {}
  for _, t in ipairs(sides) do for f, _ in pairs(t) do fields[f] = true end end
  local names = {}
  for f, _ in pairs(fields) do names[#names + 1] = f end
  table.sort(names)
  for _, f in ipairs(names) do
    local x, y = sides[1][f] or 0, sides[2][f] or 0
    if x ~= y then
      n = n + 1
      if n <= 200 then
        out[#out + 1] = b
        out[#out + 1] = f
        out[#out + 1] = tostring(x)
        out[#out + 1] = tostring(y)
      end
    end
  end
end
out[1] = n
return out
