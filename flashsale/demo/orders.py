"""The demo's sale as PostgreSQL holds it: the record, not what the clients were told."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, text

__all__ = ["SaleOrders", "order_ids", "sale_orders", "wait_for_orders"]

_LIVE = "o.status IN ('CREATED', 'PAID')"
_SALE_ORDERS = text(f"""
    SELECT s.total_stock AS stock,
           COUNT(o.order_id) AS orders_created,
           COALESCE(SUM(o.quantity) FILTER (WHERE {_LIVE}), 0) AS held,
           COUNT(o.order_id) FILTER (WHERE {_LIVE})
             - COUNT(DISTINCT o.user_id) FILTER (WHERE {_LIVE}) AS duplicate_orders
    FROM sales s LEFT JOIN orders o ON o.sale_id = s.sale_id
    WHERE s.sale_id = :sale_id
    GROUP BY s.total_stock""")  # noqa: S608 (_LIVE is a constant, the sale id a parameter)
_ORDER_IDS = text("SELECT order_id FROM orders WHERE sale_id = :sale_id")


@dataclass(frozen=True)
class SaleOrders:
    stock: int
    orders_created: int  # every row of the sale, whatever its status
    oversell: int  # units held by live orders beyond the stock
    duplicate_orders: int  # live orders beyond one per user (the demo's per-user limit)


def sale_orders(engine: Engine, sale_id: str) -> SaleOrders:
    with engine.connect() as conn:
        row = conn.execute(_SALE_ORDERS, {"sale_id": sale_id}).one()
    return SaleOrders(
        stock=row.stock,
        orders_created=row.orders_created,
        oversell=max(0, row.held - row.stock),
        duplicate_orders=row.duplicate_orders,
    )


def order_ids(engine: Engine, sale_id: str) -> set[str]:
    with engine.connect() as conn:
        return {str(order_id) for order_id in conn.scalars(_ORDER_IDS, {"sale_id": sale_id})}


def wait_for_orders(
    engine: Engine,
    sale_id: str,
    tokens: set[str],
    timeout_s: float,
    on_progress: Callable[[int], None] = lambda _: None,
    every_s: float = 0.25,
) -> set[str]:
    """Poll PostgreSQL until every order token has its row, or `timeout_s` passed.
    Returns the tokens still without a row; `on_progress` gets how many have one."""
    deadline = time.monotonic() + timeout_s
    while True:
        missing = tokens - order_ids(engine, sale_id)
        on_progress(len(tokens) - len(missing))
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(every_s)
