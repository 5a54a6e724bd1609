-- Reserve stock for a batch of orders of one sale, atomically: the only write path into
-- a sale's stock. Each purchase is decided as if it had been called alone, in ARGV order
-- (so a user twice in one batch gets `pending` the second time). One call per sale and
-- batch: the concurrent requests of a stampede share the script's call overhead.
-- KEYS: meta, stock, buyers, pending, pending_at (SaleKeys order: one sale, one slot)
-- ARGV: sale_id, then 5 per purchase: user_id, quantity, order_id, now_ms, placed_json
-- Returns 3 per purchase: outcome, order_id or '', number. The number is the stock left
-- (reserved, sold_out) or the per-user limit (over_limit). The checks mirror
-- domain.decide. A buyers entry is the user's order id, or "void:<order id>" from a
-- failed produce whose void the inventory consumer has not applied yet (mark_void.lua).
local sale_id = ARGV[1]
local meta = redis.call('HMGET', KEYS[1], 'starts_at_ms', 'ends_at_ms', 'per_user_limit', 'fenced')

local function reserve(user_id, quantity, order_id, now_ms, placed_json)
  if not meta[1] then
    return 'unknown_sale', '', 0
  end
  -- `flashsale repair` sets `fenced` (any value; HDEL reopens) while it rebuilds the
  -- sale from PostgreSQL: nothing may read or change the sale's state meanwhile.
  if meta[4] then
    return 'fenced', '', 0
  end
  -- Before the window check: a client whose request died learns its order id on retry.
  local existing = redis.call('HGET', KEYS[3], user_id)
  if existing then
    -- A voided order's id is never a token: the user waits until its stock came back.
    if string.sub(existing, 1, 5) == 'void:' then
      return 'void_pending', '', 0
    end
    -- Nor is one Kafka has not acknowledged yet (the ack removes it from pending): its
    -- produce may still fail, and the order be voided.
    if redis.call('HEXISTS', KEYS[4], existing) == 1 then
      return 'pending', '', 0
    end
    return 'already_purchased', existing, 0
  end
  if now_ms < tonumber(meta[1]) or now_ms >= tonumber(meta[2]) then
    return 'not_active', '', 0
  end
  local limit = tonumber(meta[3])
  if quantity > limit then
    return 'over_limit', '', limit
  end
  local stock = tonumber(redis.call('GET', KEYS[2]) or '0')
  if stock < quantity then
    return 'sold_out', '', stock
  end
  local left = redis.call('DECRBY', KEYS[2], quantity)
  redis.call('HSET', KEYS[3], user_id, order_id)
  -- The pending entry holds the exact event to publish: a re-publish after a crash sends
  -- the same event id, which the idempotent consumers drop if it landed before.
  redis.call('HSET', KEYS[4], order_id, placed_json)
  redis.call('ZADD', KEYS[5], now_ms, order_id)
  if left == 0 then
    redis.call('PUBLISH', 'flashsale:stock', 'soldout ' .. sale_id)
  end
  return 'reserved', order_id, left
end

local answers = {}
for i = 2, #ARGV, 5 do
  local outcome, found_id, number = reserve(
    ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4])
  answers[#answers + 1] = outcome
  answers[#answers + 1] = found_id
  answers[#answers + 1] = number
end
return answers
