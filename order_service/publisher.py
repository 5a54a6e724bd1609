"""Publishing to the orders topic, and the one way a failed order is voided.

Both OrderPlaced and OrderVoided are keyed by user id: they land on the same partition,
so a void always follows the placement it voids, whatever the retries (see
flashsale/topics.py). The stock comes back only after the void is acknowledged: before
that, an OrderPlaced that landed despite the failed report could still become an order.
"""

from __future__ import annotations

import logging

from flashsale.contracts import ContractError, OrderVoided, decode_event
from flashsale.kafka import AsyncProducer, DeliveryFailed
from order_service.breaker import KafkaBreaker
from order_service.ports import Due, OrderPublisher, Reservations, StockReturner

__all__ = ["KafkaOrderPublisher", "settle_void"]

log = logging.getLogger(__name__)


class KafkaOrderPublisher:
    def __init__(self, producer: AsyncProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def publish(self, key: str, payload: bytes) -> None:
        await self._producer.produce(self._topic, key, payload)

    def close(self, timeout: float) -> int:
        return self._producer.close(timeout)


async def settle_void(
    due: Due,
    publisher: OrderPublisher,
    reservations: Reservations,
    releaser: StockReturner,
    breaker: KafkaBreaker,
) -> bool:
    """Publish a void, then return its stock and free its user. False: Kafka is still
    down, the void stays in Redis and the recovery loop tries again."""
    try:
        void = decode_event(due.payload)
    except ContractError:
        log.exception("unreadable void %s of sale %s", due.order_id, due.sale_id)
        return False
    if not isinstance(void, OrderVoided):
        return False
    try:
        await publisher.publish(void.user_id, due.payload.encode())
    except DeliveryFailed as exc:
        breaker.failed()
        log.warning("void of %s not acknowledged yet: %s", due.order_id, exc)
        return False
    breaker.succeeded()
    # Idempotent per order id: a crash between these two lines repeats the release as a no-op.
    await releaser.release(void.sale_id, str(void.order_id), void.user_id, void.quantity)
    await reservations.void_settled(due.sale_id, due.order_id)
    return True
