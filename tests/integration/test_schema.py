"""The migrations apply to the real PostgreSQL and the constraints carry the invariants."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from tests.random_refs import random_sale_id, random_user_id

pytestmark = pytest.mark.integration


def _sale(engine: Engine, stock: int = 10) -> str:
    sale_id = random_sale_id()
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sales (sale_id, name, total_stock, remaining_stock, starts_at, ends_at)"
                " VALUES (:s, 'test', :n, :n, :a, :b)"
            ),
            {"s": sale_id, "n": stock, "a": now, "b": now + timedelta(hours=1)},
        )
    return sale_id


def _order(
    engine: Engine,
    sale_id: str,
    user_id: str,
    status: str = "CREATED",
    order_id: uuid.UUID | None = None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO orders (order_id, sale_id, user_id, quantity, status) VALUES (:o, :s, :u, 1, :st)"
            ),
            {"o": order_id or uuid.uuid4(), "s": sale_id, "u": user_id, "st": status},
        )


def test_stock_can_never_go_below_zero(engine: Engine) -> None:
    sale_id = _sale(engine, stock=1)
    with (
        pytest.raises(IntegrityError, match="ck_sales_remaining_stock_nonnegative"),
        engine.begin() as conn,
    ):
        conn.execute(
            text("UPDATE sales SET remaining_stock = remaining_stock - 2 WHERE sale_id = :s"),
            {"s": sale_id},
        )


def test_one_live_order_per_user_per_sale(engine: Engine) -> None:
    sale_id, user_id = _sale(engine), random_user_id()
    _order(engine, sale_id, user_id)
    with pytest.raises(IntegrityError, match="uq_orders_live_user"):
        _order(engine, sale_id, user_id)


def test_a_failed_order_frees_the_users_slot(engine: Engine) -> None:
    sale_id, user_id = _sale(engine), random_user_id()
    _order(engine, sale_id, user_id, status="FAILED")
    _order(engine, sale_id, user_id, status="CREATED")
    with engine.connect() as conn:
        count = conn.execute(
            text("SELECT count(*) FROM orders WHERE sale_id = :s"), {"s": sale_id}
        ).scalar_one()
    assert count == 2


def test_an_order_id_lands_once_and_on_conflict_do_nothing_keeps_the_first(engine: Engine) -> None:
    sale_id, order_id = _sale(engine), uuid.uuid4()
    _order(engine, sale_id, random_user_id(), order_id=order_id)
    with pytest.raises(IntegrityError, match="orders_pkey"):
        _order(engine, sale_id, random_user_id(), status="FAILED", order_id=order_id)
    with engine.begin() as conn:
        inserted = conn.execute(
            text(
                "INSERT INTO orders (order_id, sale_id, user_id, quantity, status)"
                " VALUES (:o, :s, 'someone-else', 1, 'CREATED') ON CONFLICT DO NOTHING RETURNING order_id"
            ),
            {"o": order_id, "s": sale_id},
        ).all()
    assert inserted == []


def test_status_outside_the_lifecycle_is_refused(engine: Engine) -> None:
    with pytest.raises(IntegrityError, match="ck_orders_status"):
        _order(engine, _sale(engine), random_user_id(), status="SHIPPED")
