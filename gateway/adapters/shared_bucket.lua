-- A GCRA bucket shared by every gateway replica (see gateway/bucket.py for the math).
-- KEYS[1]: the bucket's tat (ms, Redis clock). ARGV: interval_ms, tolerance_ms.
-- Returns 0 when admitted, else the milliseconds to wait.
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now)
local wait = tat - now - tolerance
if wait > 0 then
  -- Redis turns a Lua number into an integer reply: round up, or a wait under 1 ms
  -- (every wait at 2,000/s) would come back as 0, "admitted".
  return math.ceil(wait)
end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil(tolerance + interval) + 1000)
return 0
