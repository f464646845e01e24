"""The Lua procedures the Redis limiter runs (one decision each, inside the batch script
of `batching`): admission checks and charges every bucket, day budget and concurrency gauge
of a call, all or none, on Redis's clock; settling corrects the token buckets and budgets
by what the call really used. Their arguments and replies are described above each."""

# What both procedures use, defined once before them in the batch script: a packed argument
# split into its words, a float as text that reads back the same (a Lua number in a reply
# would be truncated to an integer), and Redis's clock in seconds.
PRELUDE = """
local function words(text)
  local found = {}
  for word in string.gmatch(text, '%S+') do found[#found + 1] = word end
  return found
end
local function fmt(x) return string.format('%.17g', x) end
local function redis_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# KEYS: the buckets, then the day budgets, then the concurrency gauges.
# ARGV[1], words apart: #buckets, #budgets, #gauges, slot id, slot TTL (s); per bucket:
# interval T, slack (how far ahead of now its TAT may run with the units this call needs
# still in it: T*(capacity-units)), cost; per budget: its limit, cost; per gauge: its limit.
# Reply, words apart: admitted 0|1, now, each bucket's TAT (after the charge if admitted),
# whether each bucket conformed 0|1, each budget's tokens used today (before this call),
# each gauge's count before this call.
# A budget's value is "<day> <used>" (day: whole days since the epoch, UTC); a value of an
# earlier day counts as nothing used, and the key expires a minute after its day ends.
# One string each way, not an argument or a reply item per number: the client's encoding
# and parsing of a dozen items was most of a decision's cost. (Floats travel as text: a Lua
# number in a reply would be truncated to an integer.)
ADMIT_SCRIPT = """
local A = words(ARGV[1])
local nc = tonumber(A[1])
local nb = tonumber(A[2])
local ns = tonumber(A[3])
local slot_id = A[4]
local slot_ttl = tonumber(A[5])
local eps = 1e-6  -- gcra.EPSILON
local now = redis_now()
local day = math.floor(now / 86400)
-- Each bucket's TAT as read, then as charged: read once (a key named twice compounds).
local held = {}
local function tat_of(key)
  local tat = held[key]
  if tat == nil then
    tat = tonumber(redis.call('GET', key) or '') or now
    held[key] = tat
  end
  return tat
end
local function used_of(key)
  local held = redis.call('GET', key)
  if not held then return 0 end
  local d, u = string.match(held, '(%S+) (%S+)')
  if tonumber(d) ~= day then return 0 end
  return tonumber(u)
end
local b0 = 5 + nc * 3  -- the budgets' arguments follow the buckets'
local g0 = b0 + nb * 2  -- the gauges' follow the budgets'

local tats, ok, used, counts = {}, {}, {}, {}
local admitted = true
for i = 1, nc do
  local slack = tonumber(A[5 + (i - 1) * 3 + 2])
  local tat = tat_of(KEYS[i])
  tats[i] = tat
  if math.max(tat, now) - now <= slack + eps then
    ok[i] = 1
  else
    ok[i] = 0
    admitted = false
  end
end
for k = 1, nb do
  used[k] = used_of(KEYS[nc + k])
  if used[k] + tonumber(A[b0 + (k - 1) * 2 + 2]) > tonumber(A[b0 + (k - 1) * 2 + 1]) then
    admitted = false
  end
end
for j = 1, ns do
  local key = KEYS[nc + nb + j]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', fmt(now - slot_ttl))
  local n = redis.call('ZCARD', key)
  counts[j] = n
  if n >= tonumber(A[g0 + j]) then admitted = false end
end

if admitted then
  for i = 1, nc do
    local interval = tonumber(A[5 + (i - 1) * 3 + 1])
    local cost = tonumber(A[5 + (i - 1) * 3 + 3])
    local tat = math.max(tat_of(KEYS[i]), now) + interval * cost
    held[KEYS[i]] = tat
    tats[i] = tat
    local ms = math.ceil((tat - now) * 1000)
    if ms > 0 then
      redis.call('SET', KEYS[i], fmt(tat), 'PX', ms)
    else
      redis.call('DEL', KEYS[i])
    end
  end
  local expire_ms = math.ceil(((day + 1) * 86400 + 60 - now) * 1000)
  for k = 1, nb do
    local key = KEYS[nc + k]
    local total = used_of(key) + tonumber(A[b0 + (k - 1) * 2 + 2])
    redis.call('SET', key, day .. ' ' .. fmt(total), 'PX', expire_ms)
  end
  for j = 1, ns do
    local key = KEYS[nc + nb + j]
    redis.call('ZADD', key, fmt(now), slot_id)
    redis.call('PEXPIRE', key, math.ceil(slot_ttl * 1000))
  end
end

local reply = {admitted and '1' or '0', fmt(now)}
for i = 1, nc do reply[#reply + 1] = fmt(tats[i]) end
for i = 1, nc do reply[#reply + 1] = tostring(ok[i]) end
for k = 1, nb do reply[#reply + 1] = fmt(used[k]) end
for j = 1, ns do reply[#reply + 1] = tostring(counts[j]) end
return table.concat(reply, ' ')
"""

# KEYS: the token buckets, then the day budgets, then the concurrency gauges.
# ARGV[1], words apart: #buckets, #budgets, #gauges, slot id, the day the call was admitted
# on; per bucket: its interval T and its delta (the tokens used less what it was charged at
# admission); per budget: its delta. A budget whose day has passed is left alone: the call
# was counted in that day's budget, and today's owes it nothing.
SETTLE_SCRIPT = """
local A = words(ARGV[1])
local nc = tonumber(A[1])
local nb = tonumber(A[2])
local ns = tonumber(A[3])
local slot_id = A[4]
local admitted_day = tonumber(A[5])
local now = redis_now()
for i = 1, nc do
  local interval = tonumber(A[4 + 2 * i])
  local delta = tonumber(A[5 + 2 * i])
  if delta ~= 0 then
    local tat = tonumber(redis.call('GET', KEYS[i]) or '') or now
    if delta > 0 then
      tat = math.max(tat, now) + interval * delta
    else
      tat = math.max(now, tat + interval * delta)
    end
    local ms = math.ceil((tat - now) * 1000)
    if ms > 0 then
      redis.call('SET', KEYS[i], fmt(tat), 'PX', ms)
    else
      redis.call('DEL', KEYS[i])
    end
  end
end
for k = 1, nb do
  local key = KEYS[nc + k]
  local delta = tonumber(A[5 + 2 * nc + k])
  local held = redis.call('GET', key)
  if delta ~= 0 and held then
    local d, u = string.match(held, '(%S+) (%S+)')
    if tonumber(d) == admitted_day then
      local total = math.max(0, tonumber(u) + delta)
      redis.call('SET', key, d .. ' ' .. fmt(total), 'KEEPTTL')
    end
  end
end
for j = 1, ns do
  redis.call('ZREM', KEYS[nc + nb + j], slot_id)
end
return 1
"""


# The batch script's procedures (see `batching`), by their place in it, and what they share.
PROCEDURES = (ADMIT_SCRIPT, SETTLE_SCRIPT)
ADMIT, SETTLE = 0, 1
