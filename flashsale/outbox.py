"""Writing events to the transactional outbox: in the same transaction as the state change
they describe, so an event exists if and only if its change committed. The relay
(inventory_consumer/workers/relay.py) publishes them afterwards, keyed by order id.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

from flashsale.contracts import (
    OrderCancelled,
    OrderCreated,
    OrderFailed,
    OrderPaid,
    OrderReinstated,
    encode,
)

__all__ = ["OutboxEvent", "add_to_outbox"]

OutboxEvent = OrderCreated | OrderPaid | OrderCancelled | OrderFailed | OrderReinstated

_INSERT = text("""
    INSERT INTO outbox (event_id, topic, key, event_type, payload)
    SELECT e.event_id, :topic, e.key, e.event_type, CAST(e.payload AS jsonb)
    FROM unnest(CAST(:event_ids AS uuid[]), CAST(:keys AS text[]),
                CAST(:types AS text[]), CAST(:payloads AS text[]))
         AS e(event_id, key, event_type, payload)
""")


def add_to_outbox(conn: Connection, topic: str, events: Sequence[OutboxEvent]) -> None:
    """One multi-row INSERT whatever the number of events: a batch costs one round trip."""
    if not events:
        return
    conn.execute(
        _INSERT,
        {
            "topic": topic,
            "event_ids": [e.event_id for e in events],
            # Keyed by order id: every event of one order lands on one partition, in order.
            "keys": [str(e.order_id) for e in events],
            "types": [e.type for e in events],
            "payloads": [encode(e).decode() for e in events],
        },
    )
