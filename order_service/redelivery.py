"""Publishing a stored event again, and the one way a failed order is voided.

Both OrderPlaced and OrderVoided are keyed by user id: they land on the same partition,
so a void always follows the placement it voids, whatever the retries (see
flashsale/topics.py). The order service never returns a void's stock itself: an
OrderPlaced that landed despite the failed report may still sit in the consumer's lag,
and PostgreSQL counts its unit until the void is applied there. The inventory consumer
writes an OrderFailed when it applies the void, and its outbox relay returns the Redis
stock and frees the user's slot (release.lua): Redis never resells a unit the DB holds.
"""

from __future__ import annotations

import logging

from flashsale.async_producer import DeliveryFailed
from flashsale.contracts import ContractError, OrderPlaced, OrderVoided, decode_event
from order_service.breaker import KafkaBreaker
from order_service.ports import Due, OrderPublisher, Reservations

__all__ = ["publish_due", "settle_void"]

log = logging.getLogger(__name__)


async def publish_due(
    due: Due,
    kind: type[OrderPlaced | OrderVoided],
    publisher: OrderPublisher,
    breaker: KafkaBreaker,
) -> bool:
    """Publish a stored event again, byte for byte (same event id: the consumers drop a
    copy). True once Kafka acknowledged it; an unreadable entry is logged, never sent."""
    try:
        event = decode_event(due.payload)
    except ContractError:
        log.exception("unreadable %s entry %s of sale %s", kind.__name__, due.order_id, due.sale_id)
        return False
    if not isinstance(event, kind):
        return False
    try:
        await publisher.publish(event.user_id, due.payload.encode())
    except DeliveryFailed as exc:
        breaker.failed()
        log.warning("%s of %s not acknowledged yet: %s", kind.__name__, due.order_id, exc)
        return False
    breaker.succeeded()
    return True


async def settle_void(
    due: Due, publisher: OrderPublisher, reservations: Reservations, breaker: KafkaBreaker
) -> bool:
    """Publish a void, then forget it. False: Kafka is still down, the void stays in
    Redis and the recovery loop tries again. The stock is not released here (see above)."""
    if not await publish_due(due, OrderVoided, publisher, breaker):
        return False
    # A crash before this line publishes the void again: the consumer applies it once.
    await reservations.void_settled(due.sale_id, due.order_id)
    return True
