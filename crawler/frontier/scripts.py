"""The frontier's atomic steps, as Lua scripts run inside Redis (each all-or-nothing).

Why scripts: a step that is two commands can be cut in half by a crash or an outage. scrapy-redis
marks a URL seen (``SADD``) and queues it (``ZADD``) separately; a worker that dies in between
loses the URL for good. Here marking and queueing are one step, taking a request is one step (it
moves into ``inflight`` under the worker's name instead of vanishing), and so is putting a lost
worker's requests back.
"""

from __future__ import annotations

# KEYS: seen, queue. ARGV: fingerprint, data, score, force (1: a retry or redirect of a request
# already seen). Returns 1 when queued, 0 when the fingerprint was seen before.
PUSH = """
local added = redis.call('SADD', KEYS[1], ARGV[1])
if added == 0 and ARGV[4] ~= '1' then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
return 1
"""

# KEYS: queue, inflight, owners, seq. ARGV: worker. Takes the most urgent request and leases it to
# the worker: returns {token, data}, or nil when the queue is empty.
POP = """
local item = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #item == 0 then return nil end
redis.call('ZREM', KEYS[1], item[1])
local token = tostring(redis.call('INCR', KEYS[4]))
redis.call('HSET', KEYS[2], token, item[1])
redis.call('HSET', KEYS[3], token, ARGV[1] .. ' ' .. item[2])
return {token, item[1]}
"""

# KEYS: inflight, owners. ARGV: tokens. Finished requests leave inflight.
ACK = """
for i = 1, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('HDEL', KEYS[2], ARGV[i])
end
return #ARGV
"""

# KEYS: queue, inflight, owners, workers, meta. ARGV: heartbeat key prefix.
# Requests leased to a worker whose heartbeat lapsed go back into the queue (same priority); the
# worker leaves the run's live workers and counts as lost. Returns {requeued, workers lost}.
REQUEUE_LOST = """
local requeued, lost = 0, 0
local owners = redis.call('HGETALL', KEYS[3])
local dead = {}
for i = 1, #owners, 2 do
  local token, owner = owners[i], owners[i + 1]
  local sep = string.find(owner, ' ', 1, true)
  local worker, score = string.sub(owner, 1, sep - 1), string.sub(owner, sep + 1)
  if dead[worker] == nil then
    dead[worker] = redis.call('EXISTS', ARGV[1] .. worker) == 0
  end
  if dead[worker] then
    local data = redis.call('HGET', KEYS[2], token)
    if data then redis.call('ZADD', KEYS[1], score, data) end
    redis.call('HDEL', KEYS[2], token)
    redis.call('HDEL', KEYS[3], token)
    requeued = requeued + 1
  end
end
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  if redis.call('EXISTS', ARGV[1] .. worker) == 0 then
    redis.call('SREM', KEYS[4], worker)
    redis.call('HINCRBY', KEYS[5], 'workers_lost', 1)
    lost = lost + 1
  end
end
return {requeued, lost}
"""

# KEYS: queue, inflight. Returns {queued, in flight} in one consistent look.
SIZES = """
return {redis.call('ZCARD', KEYS[1]), redis.call('HLEN', KEYS[2])}
"""

# KEYS: lock, meta, workers, heartbeat, runs. ARGV: run id, worker, lock ttl ms, heartbeat ttl ms,
# listed name, now (ISO). Joins the run if it is the source's current one and still crawling.
# Returns 1 when joined, 0 when the run is over (or another run holds the lock).
JOIN = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[2], 'state') ~= 'crawling' then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('SET', KEYS[4], '1', 'PX', ARGV[4])
redis.call('HINCRBY', KEYS[2], 'workers_joined', 1)
redis.call('SADD', KEYS[5], ARGV[5])
return 1
"""

# KEYS: lock, meta, last, runs. ARGV: run id, lock ttl ms, listed name, now, frontier ttl ms.
# Opens a new run when the source has none (the lock is free). Returns the current run id.
OPEN = """
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], 'state', 'crawling', 'started_at', ARGV[4], 'run_id', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[5])
redis.call('SADD', KEYS[4], ARGV[3])
return ARGV[1]
"""

# KEYS: lock, meta, runs. ARGV: run id, lock ttl ms, listed name. Takes the lock again for a run
# whose lock lapsed (``--resume``). Returns 1 when resumed, 0 when another run holds the lock.
RESUME = """
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], 'state', 'crawling')
redis.call('SADD', KEYS[3], ARGV[3])
return 1
"""

# KEYS: lock, heartbeat. ARGV: run id, lock ttl ms, heartbeat ttl ms. A live worker keeps its
# heartbeat and the run's lock. Returns 0 when the lock now names another run.
RENEW = """
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

# KEYS: workers, heartbeat. ARGV: worker, heartbeat key prefix. The worker is done with the run;
# returns how many live workers remain (the last one records the run).
LEAVE = """
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
local live = 0
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[2] .. worker) == 1 then live = live + 1 end
end
return live
"""

# KEYS: meta. ARGV: worker. The first caller becomes the run's recorder (state -> closing).
CLAIM_RECORDER = """
if redis.call('HSETNX', KEYS[1], 'recorder', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'state', 'closing')
  return 1
end
return 0
"""

# KEYS: lock, runs, meta. ARGV: run id, listed name, outcome JSON. The run is over: its outcome
# is kept, the lock freed (if still ours), and it leaves the open runs.
CLOSE = """
redis.call('HSET', KEYS[3], 'state', 'closed', 'outcome', ARGV[3])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('SREM', KEYS[2], ARGV[2])
return 1
"""

# KEYS: slots, next. ARGV: token, limit, delay ms, slot ttl ms. One request to a host may start
# when fewer than ``limit`` run (across every worker) and the host's delay has passed. Returns 0
# when it may start (and takes a slot), else the milliseconds to wait before asking again.
ACQUIRE_HOST = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if nxt > now then return nxt - now end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, math.min(50, tonumber(first[2]) - now))
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[2], tostring(now + tonumber(ARGV[3])), 'PX', ARGV[3])
end
return 0
"""
