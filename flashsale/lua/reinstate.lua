-- A late void lost: its OrderPlaced had reached Kafka, so the order stands (see
-- inventory_consumer/adapters/sql.py). The user's slot, "void:<id>" while the void was pending,
-- becomes the order id: a retry now learns it (already_purchased). Only if the slot is
-- still this order's void: a slot freed and bought again stays as it is.
-- KEYS: buyers, voids, pending, pending_at
-- ARGV: user_id, order_id
local user_id, order_id = ARGV[1], ARGV[2]
if redis.call('HGET', KEYS[1], user_id) == 'void:' .. order_id then
  redis.call('HSET', KEYS[1], user_id, order_id)
end
redis.call('HDEL', KEYS[2], order_id)
-- The placement landed: the pending entry mark_void.lua left (it only leaves the re-publish
-- scan, pending_at) holds nothing any more, and would keep the sale from ever being pruned.
redis.call('HDEL', KEYS[3], order_id)
redis.call('ZREM', KEYS[4], order_id)
return 1
