-- Give an order's stock back, at most once per order id.
-- KEYS: meta, stock, buyers, pending, pending_at, released (all of one sale: one slot)
-- ARGV: order_id, user_id, quantity, sale_id
-- Returns 1 when the stock came back now, 0 when this order's stock was released before.
local order_id, user_id, quantity, sale_id = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]

if redis.call('SADD', KEYS[6], order_id) == 0 then
  return 0
end
redis.call('INCRBY', KEYS[2], quantity)
-- Free the user's slot only if it still belongs to this order (its id, or "void:<id>"
-- once the order service voided it): a user who bought again after this order failed
-- keeps the newer order.
local slot = redis.call('HGET', KEYS[3], user_id)
if slot == order_id or slot == 'void:' .. order_id then
  redis.call('HDEL', KEYS[3], user_id)
end
redis.call('HDEL', KEYS[4], order_id)
redis.call('ZREM', KEYS[5], order_id)
redis.call('PUBLISH', 'flashsale:stock', 'release ' .. sale_id)
return 1
