"""The migrations apply to the real PostgreSQL and the constraints carry the invariants.

Each test runs inside a transaction that is rolled back, so the rows that break the
invariants on purpose never reach the shared database (`flashsale check` stays green).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from tests.random_refs import random_sale_id, random_user_id

pytestmark = pytest.mark.integration


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        outer.rollback()


def _sale(conn: Connection, stock: int = 10) -> str:
    sale_id, now = random_sale_id(), datetime.now(UTC)
    conn.execute(
        text(
            "INSERT INTO sales (sale_id, name, total_stock, remaining_stock, starts_at, ends_at)"
            " VALUES (:s, 'test', :n, :n, :a, :b)"
        ),
        {"s": sale_id, "n": stock, "a": now, "b": now + timedelta(hours=1)},
    )
    return sale_id


def _order(
    conn: Connection,
    sale_id: str,
    user_id: str,
    status: str = "CREATED",
    order_id: uuid.UUID | None = None,
) -> None:
    with conn.begin_nested():  # a savepoint: a refused row leaves the test's transaction usable
        conn.execute(
            text(
                "INSERT INTO orders (order_id, sale_id, user_id, quantity, status) VALUES (:o, :s, :u, 1, :st)"
            ),
            {"o": order_id or uuid.uuid4(), "s": sale_id, "u": user_id, "st": status},
        )


def test_stock_can_never_go_below_zero(conn: Connection) -> None:
    sale_id = _sale(conn, stock=1)
    with (
        pytest.raises(IntegrityError, match="ck_sales_remaining_stock_nonnegative"),
        conn.begin_nested(),
    ):
        conn.execute(
            text("UPDATE sales SET remaining_stock = remaining_stock - 2 WHERE sale_id = :s"),
            {"s": sale_id},
        )


def test_one_live_order_per_user_per_sale(conn: Connection) -> None:
    sale_id, user_id = _sale(conn), random_user_id()
    _order(conn, sale_id, user_id)
    with pytest.raises(IntegrityError, match="uq_orders_live_user"):
        _order(conn, sale_id, user_id)
    with pytest.raises(IntegrityError, match="uq_orders_live_user"):
        _order(conn, sale_id, user_id, status="PAID")


def test_a_failed_order_frees_the_users_slot(conn: Connection) -> None:
    sale_id, user_id = _sale(conn), random_user_id()
    _order(conn, sale_id, user_id, status="FAILED")
    _order(conn, sale_id, user_id, status="CANCELLED")
    _order(conn, sale_id, user_id, status="CREATED")
    count = conn.execute(
        text("SELECT count(*) FROM orders WHERE sale_id = :s"), {"s": sale_id}
    ).scalar_one()
    assert count == 3


def test_an_order_id_lands_once_and_on_conflict_do_nothing_keeps_the_first(
    conn: Connection,
) -> None:
    sale_id, order_id = _sale(conn), uuid.uuid4()
    _order(conn, sale_id, random_user_id(), order_id=order_id)
    with pytest.raises(IntegrityError, match="orders_pkey"):
        _order(conn, sale_id, random_user_id(), status="FAILED", order_id=order_id)
    inserted = conn.execute(
        text(
            "INSERT INTO orders (order_id, sale_id, user_id, quantity, status)"
            " VALUES (:o, :s, 'someone-else', 1, 'CREATED') ON CONFLICT DO NOTHING RETURNING order_id"
        ),
        {"o": order_id, "s": sale_id},
    ).all()
    assert inserted == []


def test_status_outside_the_lifecycle_is_refused(conn: Connection) -> None:
    with pytest.raises(IntegrityError, match="ck_orders_status"):
        _order(conn, _sale(conn), random_user_id(), status="SHIPPED")


def test_an_order_needs_an_existing_sale(conn: Connection) -> None:
    with pytest.raises(IntegrityError, match="orders_sale_id_fkey"):
        _order(conn, random_sale_id("missing"), random_user_id())


def test_the_migrations_at_head_match_the_models(engine: Engine) -> None:
    """A model without its migration (or a migration without its model) shows up here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from flashsale.db import Base

    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
