"""The inventory consumer's write path (inventory_consumer/adapters/sql.py) on the real
PostgreSQL: a batch costs the same statements whatever its size, every order of it lands
with its stock and its OrderCreated event, and text the rows carry (a void's reason)
reaches the row and the event verbatim, whatever characters it holds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from flashsale.contracts import OrderCreated, OrderFailed, OrderVoided, decode_event
from flashsale.ids import minted_at_ms
from flashsale.settings import InfraSettings
from inventory_consumer.adapters.sql import SqlOrderStore
from inventory_consumer.plan import plan_batch
from tests.fulfilment_helpers import create_sale, placed, scalar
from tests.random_refs import random_topic, random_user_id

pytestmark = pytest.mark.integration

# Quotes, a backslash, JSON and array syntax, a newline, non-ASCII: all must survive.
AWKWARD_REASON = "produce failed: \"timed out\" \\ {a,b} [1] 'x'\nretry — café ✓"


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements the engine sends while the block runs (one round trip each)."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def outbox_events(engine: Engine, topic: str) -> list[Any]:
    """The topic's outbox events, in relay order; each row's event_id column is its own."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT event_id, CAST(payload AS text) FROM outbox WHERE topic = :t ORDER BY id"),
            {"t": topic},
        )
        events = [(event_id, decode_event(payload)) for event_id, payload in rows]
    assert all(event_id == event.event_id for event_id, event in events)
    return [event for _, event in events]


def delete_outbox(engine: Engine, topic: str) -> None:
    with engine.begin() as conn:  # no relay publishes this topic
        conn.execute(text("DELETE FROM outbox WHERE topic = :t"), {"t": topic})


def test_a_batch_costs_the_same_statements_whatever_its_size(
    infra: InfraSettings, engine: Engine
) -> None:
    sizes = (1, 100, 500)
    sale_id = create_sale(engine, infra, 1000, "batchsql")
    topic = random_topic("events")
    store = SqlOrderStore(engine, topic, order_ttl_s=3600)
    batches = [[placed(sale_id) for _ in range(n)] for n in sizes]
    try:
        counts = []
        for batch in batches:
            with statements(engine) as sent:
                outcome = store.apply(plan_batch(batch))
            assert outcome.created == len(batch)
            counts.append(len(sent))
        created = outbox_events(engine, topic)
    finally:
        delete_outbox(engine, topic)
    assert counts == [counts[0]] * len(sizes), f"statements per batch of {sizes}: {counts}"
    assert counts[0] == 2  # the orders with their outbox rows; then the stock
    assert scalar(engine, "SELECT remaining_stock FROM sales WHERE sale_id = :s", s=sale_id) == (
        1000 - sum(sizes)
    )
    assert [type(e) for e in created] == [OrderCreated] * sum(sizes)
    assert {e.order_id for e in created} == {o.order_id for b in batches for o in b}
    assert len({e.event_id for e in created}) == sum(sizes)


def test_each_created_order_takes_its_own_sale_s_units_and_announces_its_own_row(
    infra: InfraSettings, engine: Engine
) -> None:
    """Two sales, several quantities and a duplicate in one batch: each sale loses exactly
    the units of its orders inserted, and each event is its order's row, under a fresh
    time-ordered id."""
    big, small = create_sale(engine, infra, 100, "big"), create_sale(engine, infra, 100, "small")
    orders = [placed(big, quantity=q) for q in (1, 2, 3)] + [placed(small, quantity=4)]
    topic = random_topic("events")
    store = SqlOrderStore(engine, topic, order_ttl_s=600)
    try:
        outcome = store.apply(plan_batch([*orders, orders[0]]))
        again = store.apply(plan_batch(orders[1:]))  # a redelivery creates and takes nothing
        events = outbox_events(engine, topic)
    finally:
        delete_outbox(engine, topic)
    assert (outcome.created, outcome.duplicates) == (4, 0)  # the plan drops in-batch repeats
    assert (again.created, again.duplicates) == (0, 3)
    stock = "SELECT remaining_stock FROM sales WHERE sale_id = :s"
    assert (scalar(engine, stock, s=big), scalar(engine, stock, s=small)) == (94, 96)
    assert all(isinstance(e, OrderCreated) for e in events) and len(events) == len(orders)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT order_id, expires_at FROM orders WHERE order_id = ANY(:ids)"),
            {"ids": [o.order_id for o in orders]},
        )
        expiry = {order_id: expires_at for order_id, expires_at in rows}
    by_id = {e.order_id: e for e in events if isinstance(e, OrderCreated)}
    for order in orders:
        event = by_id[order.order_id]
        assert (event.sale_id, event.user_id, event.quantity) == (
            order.sale_id,
            order.user_id,
            order.quantity,
        )
        assert event.expires_at == expiry[order.order_id]
        assert (event.event_id.version, event.event_id.variant) == (7, uuid.RFC_4122)
        assert abs(minted_at_ms(event.event_id) - event.occurred_at.timestamp() * 1000) < 60_000


def test_a_void_reason_reaches_the_row_and_the_event_verbatim(
    infra: InfraSettings, engine: Engine
) -> None:
    sale_id = create_sale(engine, infra, 5, "reason")
    topic = random_topic("events")
    void = OrderVoided(
        order_id=uuid.uuid4(),
        sale_id=sale_id,
        user_id=random_user_id(),
        quantity=1,
        reason=AWKWARD_REASON,
    )
    try:
        outcome = SqlOrderStore(engine, topic, order_ttl_s=3600).apply(plan_batch([void]))
        events = outbox_events(engine, topic)
    finally:
        delete_outbox(engine, topic)
    assert outcome.tombstones == 1
    row_reason = scalar(engine, "SELECT reason FROM orders WHERE order_id = :o", o=void.order_id)
    assert row_reason == f"voided: {AWKWARD_REASON}"
    assert len(events) == 1 and isinstance(events[0], OrderFailed)
    assert events[0].order_id == void.order_id and events[0].reason == row_reason
