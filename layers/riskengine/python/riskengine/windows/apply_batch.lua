-- Apply one batch of trade events to their windows and read back what detection needs.
-- Atomic, and one call per batch (per hash slot in cluster mode): the round-trip count of a
-- batch does not grow with its size, and each window travels as one string each way.
--
-- KEYS, three per window: the window (sorted set: member = encoded event, score = event time),
-- its alert marks (sorted set: member = alertId, score = event time of the alert's last
-- evidence) and its volume buckets (hash: bucket number -> notional sum).
-- ARGV, six per window: lateness_ms, history, horizon_ms, ttl_ms, volume_bucket_ms, and the
-- batch's members for it in arrival order, joined by \30. A member is
-- tradeId \31 eventTime \31 userId \31 side \31 quantity \31 price \31 notional.
-- Returns, per window: {statuses, members, alert ids, volume buckets}: statuses has one
-- character per event: N (newly placed), D (already there: a redelivery), L (late: older
-- than watermark - lateness, not placed); members are the window's events that detection
-- needs, in event-time order, joined by \30.

local RS = '\30'
local MEMBERS = '[^' .. RS .. ']+'
local result = {}
for w = 1, #KEYS / 3 do
  local window, marks, volume = KEYS[3 * w - 2], KEYS[3 * w - 1], KEYS[3 * w]
  local a = 6 * (w - 1)
  local lateness, history, horizon, ttl, bucket_ms =
    tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]),
    tonumber(ARGV[a + 5])

  local top = redis.call('ZRANGE', window, -1, -1, 'WITHSCORES')
  local watermark = top[2] and tonumber(top[2]) or -math.huge
  local statuses, earliest, earliest_any = {}, math.huge, math.huge
  for member in string.gmatch(ARGV[a + 6], MEMBERS) do
    local score = tonumber(string.match(member, '^[^\31]*\31([^\31]*)'))
    earliest_any = math.min(earliest_any, score)
    local status
    if score >= watermark - lateness then
      status = redis.call('ZADD', window, 'NX', score, member) == 1 and 'N' or 'D'
    else
      status = redis.call('ZSCORE', window, member) and 'D' or 'L'
    end
    if status == 'N' then
      if bucket_ms > 0 then
        local notional = string.match(member, '([^\31]*)$')
        redis.call('HINCRBYFLOAT', volume, tostring(math.floor(score / bucket_ms)), notional)
      end
      watermark = math.max(watermark, score)
    end
    if status ~= 'L' then earliest = math.min(earliest, score) end
    statuses[#statuses + 1] = status
  end

  -- Detection sees `history` events before the earliest placed one, and everything after it.
  -- Alert marks are read from the earliest event of the batch, late ones included, so a late
  -- trade's own alert (e.g. a large order) is not raised twice either.
  local events, buckets = {}, {}
  local alerts = redis.call('ZRANGEBYSCORE', marks, earliest_any, '+inf')
  if earliest < math.huge then
    local first = math.max(0, redis.call('ZCOUNT', window, '-inf', '(' .. earliest) - history)
    events = redis.call('ZRANGE', window, first, -1)
    if bucket_ms > 0 then buckets = redis.call('HGETALL', volume) end
  end

  -- Evict by event time, amortised: only once the window holds well over what it must keep.
  -- It keeps every event a future in-time arrival could land among and every event of this
  -- batch (a retry of it must find them all), plus `history` events before those, but
  -- nothing older than the horizon. Alert marks are trimmed when marks are written.
  if watermark > -math.huge then
    if redis.call('ZCARD', window) > 2 * history + 16 then
      local boundary = math.min(watermark - lateness, earliest)
      local cutoff = boundary - horizon
      local kth = redis.call('ZREVRANGEBYSCORE', window, '(' .. boundary, '-inf', 'WITHSCORES',
        'LIMIT', history - 1, 1)
      if kth[2] then cutoff = math.max(cutoff, tonumber(kth[2])) end
      redis.call('ZREMRANGEBYSCORE', window, '-inf', '(' .. cutoff)
    end
    redis.call('PEXPIRE', window, ttl)
    if bucket_ms > 0 and redis.call('HLEN', volume) > 2 * math.ceil(horizon / bucket_ms) + 2 then
      local oldest = math.floor((watermark - lateness - horizon) / bucket_ms)
      for _, field in ipairs(redis.call('HKEYS', volume)) do
        if tonumber(field) < oldest then redis.call('HDEL', volume, field) end
      end
    end
    if bucket_ms > 0 then redis.call('PEXPIRE', volume, ttl) end
  end
  result[w] = {table.concat(statuses), table.concat(events, RS), alerts, buckets}
end
return result
