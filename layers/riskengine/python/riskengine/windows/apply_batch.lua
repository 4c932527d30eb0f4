-- Apply one batch of trade events to their windows and read back what detection needs.
-- Atomic, and one call per batch (per hash slot in cluster mode): the round-trip count of a
-- batch does not grow with its size.
--
-- KEYS, three per window: the window (sorted set: member = encoded event, score = event time),
-- its alert marks (sorted set: member = alertId, score = event time of the alert's last
-- evidence) and its volume buckets (hash: bucket number -> notional sum).
-- ARGV, per window: lateness_ms, history, horizon_ms, ttl_ms, volume_bucket_ms, n, then n
-- triples (event time, member, notional) in arrival order.
-- Returns, per window: {statuses, events, alert ids, volume buckets} where statuses has one
-- character per event: N (newly placed), D (already there: a redelivery), L (late: older
-- than watermark - lateness, not placed).

local result = {}
local a = 1
for w = 1, #KEYS / 3 do
  local window, marks, volume = KEYS[3 * w - 2], KEYS[3 * w - 1], KEYS[3 * w]
  local lateness, history, horizon, ttl, bucket_ms, n =
    tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]),
    tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
  a = a + 6

  local top = redis.call('ZRANGE', window, -1, -1, 'WITHSCORES')
  local watermark = top[2] and tonumber(top[2]) or -math.huge
  local statuses, earliest, earliest_any = {}, math.huge, math.huge
  for i = 1, n do
    local score, member, notional = tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2]
    a = a + 3
    earliest_any = math.min(earliest_any, score)
    if redis.call('ZSCORE', window, member) then
      statuses[i] = 'D'
      earliest = math.min(earliest, score)
    elseif score < watermark - lateness then
      statuses[i] = 'L'
    else
      redis.call('ZADD', window, score, member)
      if bucket_ms > 0 then
        redis.call('HINCRBYFLOAT', volume, tostring(math.floor(score / bucket_ms)), notional)
      end
      watermark = math.max(watermark, score)
      earliest = math.min(earliest, score)
      statuses[i] = 'N'
    end
  end

  -- Detection sees `history` events before the earliest placed one, and everything after it.
  -- Alert marks are read from the earliest event of the batch, late ones included, so a late
  -- trade's own alert (e.g. a large order) is not raised twice either.
  local events, buckets = {}, {}
  local alerts = redis.call('ZRANGEBYSCORE', marks, earliest_any, '+inf')
  if earliest < math.huge then
    local before = redis.call('ZREVRANGEBYSCORE', window, '(' .. earliest, '-inf', 'WITHSCORES',
      'LIMIT', 0, history)
    for i = #before - 1, 1, -2 do
      events[#events + 1] = before[i]
      events[#events + 1] = before[i + 1]
    end
    local after = redis.call('ZRANGEBYSCORE', window, earliest, '+inf', 'WITHSCORES')
    for i = 1, #after do events[#events + 1] = after[i] end
    if bucket_ms > 0 then buckets = redis.call('HGETALL', volume) end
  end

  -- Evict by event time: keep every event a future in-time arrival could land among, and
  -- every event of this batch (a retry of it must find them all), plus `history` events
  -- before those, but nothing older than the horizon.
  if watermark > -math.huge then
    local boundary = math.min(watermark - lateness, earliest)
    local cutoff = boundary - horizon
    local kth = redis.call('ZREVRANGEBYSCORE', window, '(' .. boundary, '-inf', 'WITHSCORES',
      'LIMIT', history - 1, 1)
    if kth[2] then cutoff = math.max(cutoff, tonumber(kth[2])) end
    redis.call('ZREMRANGEBYSCORE', window, '-inf', '(' .. cutoff)
    redis.call('ZREMRANGEBYSCORE', marks, '-inf', '(' .. (boundary - horizon))
    redis.call('PEXPIRE', window, ttl)
    if redis.call('EXISTS', marks) == 1 then redis.call('PEXPIRE', marks, ttl) end
    if bucket_ms > 0 then
      local oldest = math.floor((boundary - horizon) / bucket_ms)
      for _, field in ipairs(redis.call('HKEYS', volume)) do
        if tonumber(field) < oldest then redis.call('HDEL', volume, field) end
      end
      redis.call('PEXPIRE', volume, ttl)
    end
  end
  result[w] = {table.concat(statuses), events, alerts, buckets}
end
return result
