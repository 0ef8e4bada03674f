-- ops/migrate/sort_text.lua — one-off migration of the index members written before the compact sort
-- text (common/entity_layout.h, entity_sort_collate): in the text part of a member "<text>\x1f<id>" of
-- every index (a sorted set whose key has ":ix:") each lowercase Cyrillic letter а..я, two bytes in
-- UTF-8 (\208\176..\208\191, \209\128..\209\143), becomes the one byte \128..\159 in the same order.
-- Members without \x1f (plain ids) and ASCII texts (dates, logins) stay as they are. The rule is the
-- C one, so a member rewritten here equals the one the services now compute, and applying it twice
-- changes nothing (a rewritten text has no such pair left).
-- One page of the keyspace per call, so Redis is never blocked for long: ARGV[1] the SCAN cursor
-- ("0" to start), ARGV[2] the page size. Returns {next cursor ("0": done), indexes changed, members
-- rewritten}; when the walk ends the store is marked (ops:{g}:migrated:sort_text) and later calls
-- return {"0", 0, 0} at once. Run by ops/up (mn_migrate_sort_text in ops/lib.sh) as the "ops" user.
local marker = 'ops:{g}:migrated:sort_text'
if redis.call('EXISTS', marker) == 1 then return {'0', 0, 0} end

local function collate(text)
  text = string.gsub(text, '\208([\176-\191])', function(c) return string.char(string.byte(c) - 48) end)
  return (string.gsub(text, '\209([\128-\143])', function(c) return string.char(string.byte(c) + 16) end))
end

local page = redis.call('SCAN', ARGV[1], 'MATCH', '*:ix:*', 'COUNT', tonumber(ARGV[2]) or 500)
local changed_keys, changed_members = 0, 0
for _, key in ipairs(page[2]) do
  if redis.call('TYPE', key)['ok'] == 'zset' then
    local members = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
    local changed = false
    for i = 1, #members, 2 do
      local member = members[i]
      local text, id = string.match(member, '^(.*)\031([^\031]*)$')
      if text then
        local new_text = collate(text)
        if new_text ~= text then
          redis.call('ZREM', key, member)
          redis.call('ZADD', key, members[i + 1], new_text .. '\031' .. id)
          changed_members = changed_members + 1
          changed = true
        end
      end
    end
    if changed then changed_keys = changed_keys + 1 end
  end
end
if page[1] == '0' then redis.call('SET', marker, '1') end
return {page[1], changed_keys, changed_members}
