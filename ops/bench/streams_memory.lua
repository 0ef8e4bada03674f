-- streams_memory.lua — bench.sh: the bytes held by every stream of the database (the domain-event
-- streams, the audit log), MEMORY USAGE … SAMPLES 0 of each (every node counted). Run as the "ops"
-- user with EVAL … 0; SCAN … TYPE stream finds them (redis-cli 7.0 has no --scan --type).
local cursor, total = '0', 0
repeat
  local page = redis.call('SCAN', cursor, 'TYPE', 'stream', 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    total = total + redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')
  end
until cursor == '0'
return total
