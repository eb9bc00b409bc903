"""The Redis side of the stream broker: key names and the Lua scripts that make each broker
step one atomic round trip. Redis' own clock (``TIME``) times the early-join window, so
processes on different machines agree on it.

Per run: a hash ``r:<run>`` (``n``: last event id, ``first``: ms of its first event,
``bytes``, ``cut``: no longer held for early joins, ``res``: resumable, ``ended``,
``thread``, ``seen``: streamed before its first event, so a join without ``Last-Event-ID``
gets none of its held events), a stream ``r:<run>:s`` of its
kept events (entry id ``<n>-0``, fields ``e`` and ``d``) and a flag ``r:<run>:w`` (a
stream waits for it: produce events). Per thread: a flag ``t:<thread>:w`` (someone follows
it: copy its runs' events to it), a hash ``t:<thread>`` (``n``), a stream ``t:<thread>:s``
and the set ``t:<thread>:runs``. Every key expires; live events go out on the pub/sub
channels ``r:<run>`` and ``t:<thread>``, each message one or more events
``<id>:<len(event)>:<len(data)>:<event><data>``
(id 0: the run ended)."""

from __future__ import annotations

from graphport.execution.broker import THREAD_ID_EPOCH

# A thread's next event id: the first one of a new hash from Redis' clock (broker.py,
# ``THREAD_ID_EPOCH``), so ids never go backwards on a thread whose keys expired.
_THREAD_ID = """
local function thread_id(t)
  if redis.call('HEXISTS', t, 'n') == 0 then
    local now = redis.call('TIME')
    local base = (tonumber(now[1]) - EPOCH) * 1000000 + tonumber(now[2]) - 1
    redis.call('HSET', t, 'n', string.format('%.0f', base))
  end
  return redis.call('HINCRBY', t, 'n', 1)
end
""".replace("EPOCH", str(THREAD_ID_EPOCH))

# Shared by the scripts: append an event to the thread's stream and channel when someone
# follows the thread. KEYS/ARGV are the caller's; ``thread`` is the thread id, ``p`` the
# key prefix, ``ev``/``data`` the event, ``ttl`` the retention in ms, ``cap`` the history.
_TO_THREAD = (
    _THREAD_ID
    + """
local function to_thread(p, thread, ev, data, ttl, cap)
  if thread == false or thread == '' then return end
  local t = p .. 't:' .. thread
  if redis.call('EXISTS', t .. ':w') == 0 then return end
  local n = thread_id(t)
  redis.call('PEXPIRE', t, ttl)
  redis.call('XADD', t .. ':s', 'MAXLEN', '~', cap, n .. '-0', 'e', ev, 'd', data)
  redis.call('PEXPIRE', t .. ':s', ttl)
  redis.call('PUBLISH', t, n .. ':' .. #ev .. ':' .. #data .. ':' .. ev .. data)
end
"""
)

# KEYS: none. ARGV: prefix, retention ms, early ms, early events, early bytes, thread
# history, run history (a resumable run's events kept), then per event: run, thread,
# event, data (in order). Each run's and thread's events of the batch go out as one pub/sub
# message. Returns the number of events.
PUBLISH_RUNS = (
    _THREAD_ID
    + """
local p, ttl, early = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local max_events, max_bytes, cap = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local cap_run = tonumber(ARGV[7])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out, order = {}, {}
local function send(channel, id, ev, data)
  if out[channel] == nil then out[channel] = {}; order[#order + 1] = channel end
  local parts = out[channel]
  parts[#parts + 1] = id .. ':' .. #ev .. ':' .. #data .. ':' .. ev .. data
end
local watched = {}
local count = 0
for i = 8, #ARGV, 4 do
  local run, thread, ev, data = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local r = p .. 'r:' .. run
  local n = redis.call('HINCRBY', r, 'n', 1)
  if n == 1 then
    redis.call('HSET', r, 'first', now, 'thread', thread)
    redis.call('SADD', p .. 't:' .. thread .. ':runs', run)
    redis.call('PEXPIRE', p .. 't:' .. thread .. ':runs', ttl)
  end
  local keep = redis.call('HGET', r, 'res') == '1'
  if redis.call('HGET', r, 'cut') == false then
    local bytes = redis.call('HINCRBY', r, 'bytes', #data)
    local first = tonumber(redis.call('HGET', r, 'first'))
    if now - first > early or n > max_events or bytes > max_bytes then
      redis.call('HSET', r, 'cut', 1)
      if not keep then redis.call('DEL', r .. ':s') end
    else
      keep = true
    end
  end
  if keep then
    redis.call('XADD', r .. ':s', 'MAXLEN', '~', cap_run, n .. '-0', 'e', ev, 'd', data)
    redis.call('PEXPIRE', r .. ':s', ttl)
  end
  redis.call('PEXPIRE', r, ttl)
  send(r, n, ev, data)
  local tk = p .. 't:' .. thread
  if watched[tk] == nil then watched[tk] = redis.call('EXISTS', tk .. ':w') == 1 end
  if watched[tk] or ev == 'protocol' then  -- thread event streaming replays from the start
    local tn = thread_id(tk)
    redis.call('PEXPIRE', tk, ttl)
    redis.call('XADD', tk .. ':s', 'MAXLEN', '~', cap, tn .. '-0', 'e', ev, 'd', data)
    redis.call('PEXPIRE', tk .. ':s', ttl)
    send(tk, tn, ev, data)
  end
  count = count + 1
end
for _, channel in ipairs(order) do
  redis.call('PUBLISH', channel, table.concat(out[channel]))
end
return count
"""
)

# KEYS: none. ARGV: prefix, run, thread ('' when unknown), run_done JSON, retention ms,
# thread history. Ends the run's streams everywhere (after every event published before);
# the first end of a run also tells its thread.
END_RUN = (
    _TO_THREAD
    + """
local p, run = ARGV[1], ARGV[2]
local r = p .. 'r:' .. run
local ttl = tonumber(ARGV[5])
local first = redis.call('HSETNX', r, 'ended', 1)
redis.call('PEXPIRE', r, ttl)
redis.call('DEL', r .. ':w')
redis.call('PUBLISH', r, '0:0:0:')
if first == 1 then
  local thread = ARGV[3]
  if thread == '' then thread = redis.call('HGET', r, 'thread') end
  to_thread(p, thread, 'metadata', ARGV[4], ttl, tonumber(ARGV[6]))
end
return first
"""
)

# KEYS: none. ARGV: prefix, run, live (1/0), retention ms, watch seconds, from start (1/0),
# the first entry id to read (``-``, or ``(<n>-0`` for those after n), how many (0: all).
# What a join reads: {kept events, the run's hash as a flat list, Redis' clock}; a live join
# also marks the run as watched, and as streamed from before its first event when it has
# none yet. The stream of the request that created the run (from start) ends the holding
# for early joins: later joins get none of it, and the run's next events need no keeping.
READ_RUN = """
local r = ARGV[1] .. 'r:' .. ARGV[2]
local kept
if tonumber(ARGV[8]) > 0 then
  kept = redis.call('XRANGE', r .. ':s', ARGV[7], '+', 'COUNT', tonumber(ARGV[8]))
else
  kept = redis.call('XRANGE', r .. ':s', ARGV[7], '+')
end
local meta = redis.call('HGETALL', r)
local clock = redis.call('TIME')
if ARGV[6] == '1' then
  redis.call('HSET', r, 'cut', 1)
  if redis.call('HGET', r, 'res') ~= '1' then redis.call('DEL', r .. ':s') end
  redis.call('PEXPIRE', r, tonumber(ARGV[4]))
end
if ARGV[3] == '1' then
  redis.call('SET', r .. ':w', 1, 'EX', tonumber(ARGV[5]))
  if redis.call('HEXISTS', r, 'n') == 0 then
    redis.call('HSET', r, 'seen', 1)
    redis.call('PEXPIRE', r, tonumber(ARGV[4]))
  end
end
return {kept, meta, clock}
"""

# KEYS: none. ARGV: prefix, thread, event, data, retention ms, thread history.
PUBLISH_THREAD = (
    _TO_THREAD
    + """
to_thread(ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]))
return 0
"""
)

# KEYS: none. ARGV: prefix, thread. A deleted thread: its history and its runs' events go.
FORGET_THREAD = """
local p, thread = ARGV[1], ARGV[2]
local t = p .. 't:' .. thread
for _, run in ipairs(redis.call('SMEMBERS', t .. ':runs')) do
  redis.call('DEL', p .. 'r:' .. run .. ':s')
end
redis.call('DEL', t, t .. ':s', t .. ':runs')
return 0
"""


def run_key(prefix: str, run_id: object) -> str:
    return f"{prefix}r:{run_id}"


def thread_key(prefix: str, thread_id: object) -> str:
    return f"{prefix}t:{thread_id}"
