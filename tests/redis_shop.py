"""The order service's admission without HTTP, for tests of what happens after it: the real
reserve.lua, a produce acknowledged by Kafka, then the ack clears the pending entry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from confluent_kafka import Producer
from redis import Redis

from flashsale.contracts import OrderPlaced, encode
from flashsale.kafka import producer_config
from flashsale.stock import SaleKeys
from order_service.adapters.reservations import RESERVE_SOURCE


class Shop:
    def __init__(self, redis: Redis, bootstrap: str, orders_topic: str) -> None:
        self._redis = redis
        self._reserve = redis.register_script(RESERVE_SOURCE)
        self._topic = orders_topic
        self._producer = Producer(producer_config(bootstrap, "test-shop"))

    def buy(self, sale_id: str, user_id: str) -> tuple[str, str]:
        """(outcome, order id): the order id of a reservation, now on the topic and acked."""
        order = OrderPlaced(
            order_id=uuid.uuid4(), sale_id=sale_id, user_id=user_id, quantity=1,
            placed_at=datetime.now(UTC),
        )  # fmt: skip
        keys = SaleKeys(sale_id)
        payload = encode(order).decode()
        outcome, found, _ = self._reserve(
            keys=[keys.meta, keys.stock, keys.buyers, keys.pending, keys.pending_at],
            args=[sale_id, user_id, 1, str(order.order_id),
                  int(order.placed_at.timestamp() * 1000), f"{self._topic}\n{payload}"],
        )  # fmt: skip
        if outcome != "reserved":
            return outcome, found
        self._producer.produce(self._topic, payload.encode(), user_id)
        assert self._producer.flush(10) == 0
        self._redis.hdel(keys.pending, str(order.order_id))
        self._redis.zrem(keys.pending_at, str(order.order_id))
        return outcome, str(order.order_id)
