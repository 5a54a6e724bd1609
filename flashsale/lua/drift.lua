-- PostgreSQL refused an order for lack of stock: Redis counted units the DB does not have.
-- KEYS: meta, stock, buyers, pending, pending_at, released (all of one sale: one slot)
-- ARGV: order_id, user_id, sale_id
-- The order's unit must never come back: it was never there. Mark it released (so the
-- relay's release of its OrderFailed is a no-op), free the user's slot if it is still
-- this order's, and close the sale in Redis: the DB is the truth, and it has no stock.
-- Returns 1 the first time for this order, 0 after.
local order_id, user_id, sale_id = ARGV[1], ARGV[2], ARGV[3]

local first = redis.call('SADD', KEYS[6], order_id)
local slot = redis.call('HGET', KEYS[3], user_id)
if slot == order_id or slot == 'void:' .. order_id then
  redis.call('HDEL', KEYS[3], user_id)
end
redis.call('HDEL', KEYS[4], order_id)
redis.call('ZREM', KEYS[5], order_id)
redis.call('SET', KEYS[2], 0)
redis.call('PUBLISH', 'flashsale:stock', 'soldout ' .. sale_id)
return first
