-- Place one part of a batch in its windows and read back what detection needs, atomically.
--
-- KEYS, four per window: the window (sorted set: member -> event time), its alert marks
-- (sorted set: 'rule \31 end trade id \31 alert id' -> event time of the match's last trade),
-- its volume buckets (hash: bucket number -> notional sum in cents) and its gate (a string that
-- exists while a gated window has held an event of the kind that opens it).
-- ARGV: runs of windows that share a spec and a gate mode, in KEYS order. A run is eight header
-- arguments, said once for all its windows: lateness_ms, history, horizon_ms, ttl_ms,
-- volume_bucket_ms, the closed horizon (ms; 0 for none: while the gate is closed, events older
-- than this before the lateness boundary are dropped whatever `history` says, since no rule reads
-- them, and the window's TTL is this horizon's instead of horizon_ms's: ttl_ms - horizon_ms + closed
-- horizon), the gate mode (0: the windows have no gate, 1: the part holds events that open them,
-- 2: its events do not open them: read a window only if its gate is open) and how many windows
-- follow; then five per window: the part's members for it in arrival order, joined by \30, and the
-- caller's copy of the window (first member, last member, member count, event time of the last but
-- one member; count 0 when it has none). Numbers stay strings where Redis takes them as
-- arguments: formatting a Lua number for redis.call costs more than the command. A member is
-- eventTime \31 arrival \31 tradeId \31 userId \31 side \31 quantity \31 price \31 notional
-- for a trade; an order event's (only ever in order-book windows, which keep no volume buckets)
-- adds \31 orderId \31 eventType \31 filledQuantity.
-- Returns one flat array, five elements per window: statuses, members, marks, volume buckets and
-- reused (flat because Redis turns every table a script returns into a reply by looking up
-- several fields in it, which cost more than a window's commands). Marks are the alert marks'
-- members and buckets are bucket, cents, bucket, cents, ..., each joined by \30. Statuses has one
-- character per member: N (newly placed), D (already there: a redelivery) or L (late: older than
-- watermark - lateness, not placed). The window's events that detection needs, in window order
-- (event time, then arrival), are the caller's copy from index `reused` on followed by
-- `members` (joined by \30; the caller orders them), or `members` alone when `reused` is -1.
-- `reused` is -2 for a gated window whose gate is closed: its events are placed but nothing is read
-- back, because it holds only events no rule of its scope can match on (an order-book window that
-- never held an order event: spoofing and layering need orders).
--
-- The caller's copy is a run of consecutive members as an earlier call returned them. Members
-- never change and are only removed oldest first (eviction) or all together (expiry), so when
-- its first and last members are still there with count - 2 members between them, the run is
-- still there unchanged, and only the members after it travel: usually the part's own. When
-- the copy also ends the window, its last two members are the window's two newest (the
-- watermark), and trades placed after them are the only new events: nothing is read back.
--
-- The watermark is the second-highest event time in the window, updated as each member is
-- placed: one trade stamped ahead of its peers cannot move it, so it cannot make them late.

local RS = '\30'
local EVENT_TIME = '^%d+'
-- A trade member's eighth field, the notional, matched from the start: a pattern anchored at the end
-- only would be tried from every position of the member. (Only trades have volume buckets.)
local NOTIONAL = '^' .. string.rep('[^\31]*\31', 7) .. '([^\31]*)'
local EXACT = 2 ^ 53 -- doubles hold every integer up to here
local OPENS, NEEDS_OPEN = 1, 2 -- gate modes
local CLOSED_SLACK = 16 -- a window behind a closed gate is trimmed once it holds more than this
-- Where the caller's copy lies in the window: the ranks of its first and last members when the
-- run between them is still there unchanged (see above), else nil.
local function locate(window, copy_first, copy_last, copy_count)
  if copy_count == 0 then return nil end
  local a = redis.call('ZRANK', window, copy_first)
  if not a then return nil end
  local b = copy_count == 1 and a or redis.call('ZRANK', window, copy_last)
  if b and b - a == copy_count - 1 then return a, b end
  return nil
end

-- The events from rank `first` (or the last `tail` events) to the end: {members, reused, event
-- time of the first event (a string) or nil}, reusing the caller's copy when it covers them.
local function needed(window, first, tail, copy_first, copy_last, copy_count)
  local a, b = locate(window, copy_first, copy_last, copy_count) -- after this part's events were placed
  if a then
    local newer = redis.call('ZRANGE', window, b + 1, '-1')
    if tail then first = math.max(0, b + 1 + #newer - tail) end
    if a <= first and first <= b + 1 then
      -- Alert marks are read from the copy's first event on: a few more than needed, never fewer.
      return newer, first - a, string.match(copy_first, EVENT_TIME)
    end
  end
  local events = redis.call('ZRANGE', window, tail and -tail or first, '-1')
  return events, -1, events[1] and string.match(events[1], EVENT_TIME)
end

-- One window: `run` holds its run's header, `copy_*` the caller's copy. Returns its five reply elements.
local function apply_window(window, marks, volume, gate, run, members, copy_first, copy_last, copy_count,
                            copy_watermark)
  local lateness, history, horizon, ttl, bucket_ms = run.lateness, run.history, run.horizon, run.ttl, run.bucket_ms
  -- The gate and its window expire together: every call that refreshes one refreshes the other.
  local closed = run.gate_mode == NEEDS_OPEN and redis.call('PEXPIRE', gate, run.ttl_text) == 0
  if closed then copy_count = 0 end

  -- The two newest events: from the copy when it ends the window (copy_at is then its rank).
  local highest, watermark, copy_at, card
  local copy_a, copy_b = locate(window, copy_first, copy_last, copy_count >= 2 and copy_count or 0)
  if copy_a then
    card = redis.call('ZCARD', window)
    if copy_b == card - 1 then
      copy_at = copy_a
      highest, watermark = tonumber(string.match(copy_last, EVENT_TIME)), tonumber(copy_watermark)
    end
  end
  if not copy_at then
    local top = redis.call('ZREVRANGE', window, '0', '1')
    highest = top[1] and tonumber(string.match(top[1], EVENT_TIME)) or -math.huge
    watermark = top[2] and tonumber(string.match(top[2], EVENT_TIME)) or -math.huge
    card = nil
  end
  local newest_before = highest
  local statuses, earliest, earliest_any, earliest_any_text, placed, placed_members, seen =
    {}, math.huge, math.huge, nil, 0, {}, 0
  local cents_by_bucket, buckets_touched = {}, {}
  -- Plain finds split the members: a character-class pattern costs a function call per character.
  local from, length = 1, #members
  while from <= length do
    local to = string.find(members, RS, from, true) or length + 1
    local member = string.sub(members, from, to - 1)
    from = to + 1
    local stamp = string.match(member, EVENT_TIME)
    local score = tonumber(stamp)
    if score < earliest_any then earliest_any, earliest_any_text = score, stamp end
    local status
    if score >= watermark - lateness then
      status = redis.call('ZADD', window, 'NX', stamp, member) == 1 and 'N' or 'D'
    else
      status = redis.call('ZSCORE', window, member) and 'D' or 'L'
    end
    if status == 'N' then
      placed = placed + 1
      placed_members[placed] = member
      if bucket_ms > 0 then
        -- Whole cents, rounded half up: the same double operations as windows.events.notional_cents.
        -- Summed per bucket here and added once per bucket below, flushed before a sum could
        -- leave the integers a double holds exactly.
        local cents = math.floor(tonumber(string.match(member, NOTIONAL)) * 100 + 0.5)
        local bucket = math.floor(score / bucket_ms)
        local sum = cents_by_bucket[bucket]
        if sum == nil then
          buckets_touched[#buckets_touched + 1] = bucket
          sum = 0
        elseif sum + cents > EXACT then
          redis.call('HINCRBY', volume, string.format('%d', bucket), string.format('%d', sum))
          sum = 0
        end
        cents_by_bucket[bucket] = sum + cents
      end
      if score > highest then
        watermark, highest = highest, score
      elseif score > watermark then
        watermark = score
      end
    end
    if status ~= 'L' then earliest = math.min(earliest, score) end
    seen = seen + 1
    statuses[seen] = status
  end

  for _, bucket in ipairs(buckets_touched) do
    redis.call('HINCRBY', volume, string.format('%d', bucket), string.format('%d', cents_by_bucket[bucket]))
  end

  -- Detection sees `history` events before the earliest placed one, and everything after it.
  -- Alert marks are read from the first event read back (or the earliest event of the part, late
  -- ones included), which covers every match detection can look at.
  local events, buckets, marks_from, reused = {}, {}, earliest_any_text, closed and -2 or -1
  if earliest < math.huge and not closed then
    local first, tail, first_stamp
    if earliest > newest_before then
      -- The usual case, trades arriving in order: everything from the earliest placed event on was
      -- placed by this part, so the events needed are the window's last placed + history.
      tail = placed + history
    else
      first = math.max(0, redis.call('ZCOUNT', window, '-inf', '(' .. earliest) - history)
    end
    if tail and copy_at and math.max(0, card - history) >= copy_at then
      -- ... and when the copy ended the window, they are the copy's last `history` and the part's own.
      events, reused = placed_members, math.max(0, card - history) - copy_at
      first_stamp = string.match(copy_first, EVENT_TIME)
    else
      events, reused, first_stamp = needed(window, first, tail, copy_first, copy_last, copy_count)
    end
    if first_stamp and tonumber(first_stamp) < earliest_any then marks_from = first_stamp end
    if bucket_ms > 0 then buckets = redis.call('HGETALL', volume) end
  end
  local alerts = closed and {} or redis.call('ZRANGEBYSCORE', marks, marks_from, '+inf')

  -- Evict by event time, amortised: only once the window holds well over what it must keep.
  -- It keeps every event a future in-time arrival could land among and every event of this
  -- part (a retry of it must find them all), plus `history` events before those, but nothing
  -- older than the horizon. The two newest events (the watermark) are never evicted. Alert
  -- marks are trimmed when marks are written.
  if watermark > -math.huge then
    local boundary = math.min(watermark - lateness, earliest)
    local count = card and card + placed or redis.call('ZCARD', window)
    if count > 2 * history + 16 then
      local cutoff = boundary - horizon
      local kth = redis.call('ZREVRANGEBYSCORE', window, '(' .. boundary, '-inf', 'WITHSCORES',
        'LIMIT', history - 1, 1)
      if kth[2] then cutoff = math.max(cutoff, tonumber(kth[2])) end
      redis.call('ZREMRANGEBYSCORE', window, '-inf', '(' .. cutoff)
    end
    if closed and run.closed_horizon > 0 and count > CLOSED_SLACK then
      -- Behind a closed gate, also what no rule can read: none reads further back than closed_horizon
      -- from an event at or after the boundary, and an order event to come lands there (or is late).
      redis.call('ZREMRANGEBYSCORE', window, '-inf', '(' .. (boundary - run.closed_horizon))
    end
    if bucket_ms > 0 and redis.call('HLEN', volume) > 2 * math.ceil(horizon / bucket_ms) + 2 then
      local oldest = math.floor((watermark - lateness - horizon) / bucket_ms)
      for _, field in ipairs(redis.call('HKEYS', volume)) do
        if tonumber(field) < oldest then redis.call('HDEL', volume, field) end
      end
    end
  end
  if highest > -math.huge then
    redis.call('PEXPIRE', window, (closed and run.closed_horizon > 0) and run.closed_ttl_text or run.ttl_text)
    if bucket_ms > 0 then redis.call('PEXPIRE', volume, run.ttl_text) end
    if run.gate_mode == OPENS then
      if placed > 0 then
        redis.call('SET', gate, '1', 'PX', run.ttl_text)
      else
        redis.call('PEXPIRE', gate, run.ttl_text)
      end
    end
  end
  return table.concat(statuses), table.concat(events, RS), table.concat(alerts, RS), table.concat(buckets, RS), reused
end

local result, a, w, r = {}, 0, 0, 0
while a < #ARGV do
  local ttl, horizon, closed_horizon = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 6])
  local run = {
    lateness = tonumber(ARGV[a + 1]), history = tonumber(ARGV[a + 2]), horizon = horizon, ttl = ttl,
    bucket_ms = tonumber(ARGV[a + 5]), closed_horizon = closed_horizon, gate_mode = tonumber(ARGV[a + 7]),
    ttl_text = ARGV[a + 4], closed_ttl_text = string.format('%d', ttl - horizon + closed_horizon),
  }
  local windows = tonumber(ARGV[a + 8])
  a = a + 8
  for _ = 1, windows do
    local k = 4 * w
    w = w + 1
    result[r + 1], result[r + 2], result[r + 3], result[r + 4], result[r + 5] = apply_window(
      KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], run,
      ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], tonumber(ARGV[a + 4]), ARGV[a + 5])
    a, r = a + 5, r + 5
  end
end
return result
