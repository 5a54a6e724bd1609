-- Turn a reservation whose produce failed into a void, atomically.
-- KEYS: buyers, voids, pending_at (SaleKeys order: one sale, one slot)
-- ARGV: user_id, order_id, tagged_void (topic, newline, OrderVoided JSON)
-- The order leaves the re-publish scan exactly when it joins the void scan, so recovery
-- never re-places an order whose client got a 503. The user's slot becomes
-- "void:<order id>" (reserve.lua answers void_pending, never this id as a token) until
-- release.lua frees it, once the inventory consumer applied the void. Only if the slot
-- is still this order's: one already released (and perhaps bought again) stays as it is.
local user_id, order_id, tagged_void = ARGV[1], ARGV[2], ARGV[3]

if redis.call('HGET', KEYS[1], user_id) == order_id then
  redis.call('HSET', KEYS[1], user_id, 'void:' .. order_id)
end
redis.call('HSET', KEYS[2], order_id, tagged_void)
redis.call('ZREM', KEYS[3], order_id)
return 1
