-- drop.lua — removes a recompute's shadow state: up to 500 of the keys recorded in KEYS[1]
-- (ind:{r:R}:chk:keys) per call; returns how many are left (the caller calls again until 0).
local keys = redis.call('SPOP', KEYS[1], 500)
for _, k in ipairs(keys) do redis.call('DEL', k) end
return redis.call('SCARD', KEYS[1])
