-- dead.lua — an entry that failed IND_DEAD_AFTER deliveries moves to the dead-letter stream and is
-- acknowledged, so the rest of the stream goes on. KEYS[1] the source stream, KEYS[2] ind:{r:R}:dead.
-- ARGV: group, entry id, deliveries, the entry's packed event (may be empty), why.
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '100000', '*', 'stream', KEYS[1], 'entry', ARGV[2],
  'deliveries', ARGV[3], 'event', ARGV[4], 'error', ARGV[5])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return 1
