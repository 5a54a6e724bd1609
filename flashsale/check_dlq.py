"""The DLQ against PostgreSQL: a dead-lettered OrderPlaced was a promise (its client held
the order id), so its order must still end somewhere: as a FAILED row, written by the
consumer that dead-lettered it. One with no row at all is a lost order."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, TopicPartition
from sqlalchemy import Engine, text

from flashsale.check import CheckResult
from flashsale.contracts import ContractError, OrderPlaced, decode_event
from flashsale.kafka import Brokers, connection_config

__all__ = ["check_dlq", "dead_lettered_orders"]

_EXISTING = text("SELECT order_id FROM orders WHERE order_id = ANY(CAST(:ids AS uuid[]))")


def dead_lettered_orders(
    bootstrap: Brokers, topic: str, sale_id: str | None = None, timeout_s: float = 30.0
) -> list[OrderPlaced]:
    """Every OrderPlaced on the DLQ, read from the start up to the current end."""
    reader = Consumer(
        {**connection_config(bootstrap), "group.id": "flashsale.check", "enable.auto.commit": False}
    )
    try:
        metadata = reader.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return []  # no DLQ topic yet: nothing was ever dead-lettered
        ends: dict[int, int] = {}
        starts: list[TopicPartition] = []
        for p in metadata.partitions:
            low, high = reader.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
                starts.append(TopicPartition(topic, p, low))
        reader.assign(starts)
        return _read_until(reader, ends, sale_id, time.monotonic() + timeout_s)
    finally:
        reader.close()


def _read_until(
    reader: Consumer, ends: dict[int, int], sale_id: str | None, deadline: float
) -> list[OrderPlaced]:
    found: list[OrderPlaced] = []
    while ends and time.monotonic() < deadline:
        for msg in reader.consume(1000, 0.5):
            if msg.error() is not None:
                continue
            partition, offset = msg.partition() or 0, msg.offset() or 0
            if offset + 1 >= ends.get(partition, 0):
                ends.pop(partition, None)
            try:
                event = decode_event(msg.value())
            except ContractError:
                continue  # poison that never was an order
            if isinstance(event, OrderPlaced) and sale_id in (None, event.sale_id):
                found.append(event)
    if ends:
        raise TimeoutError(f"the DLQ could not be read to its end: {sorted(ends)} unread")
    return found


def check_dlq(
    engine: Engine, bootstrap: Brokers, topic: str, sale_id: str | None = None
) -> CheckResult:
    placed = dead_lettered_orders(bootstrap, topic, sale_id)
    ids: list[uuid.UUID] = [p.order_id for p in placed]
    with engine.connect() as conn:
        existing = {r.order_id for r in conn.execute(_EXISTING, {"ids": ids})} if ids else set()
    return CheckResult(
        "dlq_orders_have_rows",
        [
            {"order_id": p.order_id, "sale_id": p.sale_id}
            for p in placed
            if p.order_id not in existing
        ],
    )
