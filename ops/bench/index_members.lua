-- index_members.lua — bench.sh --index-experiment: what shorter index members would save. Copies the
-- index KEYS[1] into the scratch key KEYS[2] with members "<sort key cut to ARGV[1] bytes, on a UTF-8
-- boundary>\x1f<id>", measures both with MEMORY USAGE … SAMPLES 0 and deletes the copy. Run as the
-- "ops" user. Returns {members, bytes now, mean member length now, bytes short, mean length short}.
local index, scratch, cut = KEYS[1], KEYS[2], tonumber(ARGV[1])
redis.call('DEL', scratch)
local members = redis.call('ZRANGE', index, 0, -1)
local long_total, short_total = 0, 0
for _, member in ipairs(members) do
  local sort_key, id = string.match(member, '^(.*)\031([^\031]*)$')
  if not sort_key then sort_key, id = '', member end
  local k = cut
  while k > 0 and k < #sort_key and string.byte(sort_key, k + 1) >= 0x80 and string.byte(sort_key, k + 1) < 0xC0 do
    k = k - 1
  end
  local short = string.sub(sort_key, 1, k) .. '\031' .. id
  redis.call('ZADD', scratch, 0, short)
  long_total, short_total = long_total + #member, short_total + #short
end
local n = #members
if n == 0 then return {0, 0, '0', 0, '0'} end
local now, short = redis.call('MEMORY', 'USAGE', index, 'SAMPLES', '0'), redis.call('MEMORY', 'USAGE', scratch, 'SAMPLES', '0')
redis.call('DEL', scratch)
return {n, now, string.format('%.1f', long_total / n), short, string.format('%.1f', short_total / n)}
