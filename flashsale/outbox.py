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

# The events arrive as ONE jsonb array, their encoded bytes joined: a list of JSON texts
# would go through psycopg's text-array dumper, which escapes every quote in Python and
# cost more than the insert itself. WITH ORDINALITY keeps the ids in the events' order.
_INSERT = text("""
    INSERT INTO outbox (event_id, topic, key, event_type, payload)
    SELECT CAST(e.payload ->> 'event_id' AS uuid), :topic, e.payload ->> 'order_id',
           e.payload ->> 'type', e.payload
    FROM jsonb_array_elements(CAST(:events AS jsonb)) WITH ORDINALITY AS e(payload, n)
    ORDER BY e.n
""")


def add_to_outbox(conn: Connection, topic: str, events: Sequence[OutboxEvent]) -> None:
    """One multi-row INSERT whatever the number of events: a batch costs one round trip.
    Keyed by order id: every event of one order lands on one partition, in order."""
    if not events:
        return
    payloads = b"[" + b",".join(encode(e) for e in events) + b"]"
    conn.execute(_INSERT, {"topic": topic, "events": payloads.decode()})
