"""Batch planning: duplicates collapse; a placement and its void are both planned, in any
order, so the store decides by the log alone (the placement stands)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flashsale.contracts import OrderPlaced, OrderVoided
from inventory_consumer.plan import plan_batch


def _placed(order_id: uuid.UUID | None = None, user: str = "u1") -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id or uuid.uuid4(),
        sale_id="s1",
        user_id=user,
        quantity=1,
        placed_at=datetime.now(UTC),
    )


def _voided(order_id: uuid.UUID) -> OrderVoided:
    return OrderVoided(order_id=order_id, sale_id="s1", user_id="u1", quantity=1, reason="x")


def test_duplicates_collapse_to_the_first_sighting_in_offset_order() -> None:
    a, b = _placed(user="a"), _placed(user="b")
    plan = plan_batch([a, b, a, b, a])
    assert plan.to_create == (a, b)
    assert plan.to_void == ()


def test_a_placement_and_its_void_in_one_batch_plan_the_same_whatever_the_order() -> None:
    a, b = _placed(user="a"), _placed(user="b")
    orders: list[list[OrderPlaced | OrderVoided]] = [
        [a, _voided(a.order_id), b],
        [_voided(a.order_id), a, b],
    ]
    for events in orders:
        plan = plan_batch(events)
        assert plan.to_create == (a, b)  # created first: the void then finds it standing
        assert [v.order_id for v in plan.to_void] == [a.order_id]


def test_a_repeated_void_is_planned_once() -> None:
    oid = uuid.uuid4()
    plan = plan_batch([_voided(oid), _voided(oid)])
    assert len(plan.to_void) == 1
    assert len(plan) == 1
