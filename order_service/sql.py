"""PostgreSQL adapters. The engine is synchronous (SQLAlchemy 2.0); calls run in a thread
so the event loop never waits on the database."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import Engine, text

from flashsale.contracts import CreateSale
from flashsale.db.sales import insert_sale

__all__ = ["SqlOrderStatus", "SqlSales"]

SELECT_SALE = text(
    "SELECT name, total_stock, starts_at, ends_at, per_user_limit FROM sales WHERE sale_id = :sale_id"
)
SELECT_STATUS = text("SELECT status FROM orders WHERE order_id = :order_id")


class SqlSales:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def add(self, sale: CreateSale) -> str:
        return await asyncio.to_thread(self._add, sale)

    def _add(self, sale: CreateSale) -> str:
        with self._engine.begin() as conn:
            if insert_sale(conn, sale):
                return "created"
            row = conn.execute(SELECT_SALE, {"sale_id": sale.sale_id}).one()
        same = (row.name, row.total_stock, row.starts_at, row.ends_at, row.per_user_limit) == (
            sale.name,
            sale.stock,
            sale.starts_at,
            sale.ends_at,
            sale.per_user_limit,
        )
        return "same" if same else "conflict"


class SqlOrderStatus:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def status(self, order_id: uuid.UUID) -> str | None:
        return await asyncio.to_thread(self._status, order_id)

    def _status(self, order_id: uuid.UUID) -> str | None:
        with self._engine.connect() as conn:
            status = conn.execute(SELECT_STATUS, {"order_id": order_id}).scalar_one_or_none()
        return None if status is None else str(status)
