-- entity_write.lua — the Redis baseline of an entity write for bench.sh: what one create costs in
-- Redis alone (hash {v,d,a}, a sorted-set index entry, a stream event), run with EVALSHA by
-- redis-benchmark. KEYS: entity hash, index, stream. ARGV: version, data (~200 bytes), attributes,
-- index member.
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2], 'a', ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '10000', '*', 'event', ARGV[2])
return 1
