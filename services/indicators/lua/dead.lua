-- dead.lua — an entry that failed IND_DEAD_AFTER deliveries moves to the dead-letter stream and is
-- acknowledged, so the rest of the stream goes on. KEYS[1] ind:{r:R}:dead. ARGV: the source stream (an
-- ARGV, not a KEY, as in apply.lua), group, entry id, deliveries, the entry's packed event (may be
-- empty), why.
redis.call('XADD', KEYS[1], 'MAXLEN', '~', '100000', '*', 'stream', ARGV[1], 'entry', ARGV[3],
  'deliveries', ARGV[4], 'event', ARGV[5], 'error', ARGV[6])
redis.call('XACK', ARGV[1], ARGV[2], ARGV[3])
return 1
