-- Record what a batch decided, before its results are written (see riskengine.engine.commit).
--
-- KEYS: ARGV[1] ledger keys, then alert-mark keys (one per mark; a key may repeat).
-- ARGV: the ledger key count, the ledger TTL (ms), one ledger entry per ledger key, then for
-- each mark key: the mark member, its score (event time) and the mark TTL (ms).
-- Marks older than their TTL in event time can never be looked up again and are trimmed.

local count, ledger_ttl = tonumber(ARGV[1]), ARGV[2]
for i = 1, count do
  redis.call('SET', KEYS[i], ARGV[2 + i], 'PX', ledger_ttl)
end
local a = 2 + count
for i = count + 1, #KEYS do
  local member, score, ttl = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  redis.call('ZADD', KEYS[i], score, member)
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. string.format('%d', score - ttl))
  redis.call('PEXPIRE', KEYS[i], ttl)
  a = a + 3
end
return #KEYS
