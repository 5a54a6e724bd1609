"""PostgreSQL adapters. The engine is synchronous (SQLAlchemy 2.0): the async ports run
their calls in a thread so the event loop never waits on the database; `SqlPayments` is
called from a sync route, which FastAPI already runs in its thread pool."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import Engine, text

from flashsale.contracts import CreateSale, OrderPaid, PayOrder
from flashsale.db.sales import insert_sale
from flashsale.outbox import add_to_outbox
from order_service.payments import PaymentOutcome, PaymentResult, why_not_paid
from order_service.ports import OrderRecord

__all__ = ["SqlOrderStatus", "SqlPayments", "SqlSales"]

SELECT_SALE = text(
    "SELECT name, total_stock, starts_at, ends_at, per_user_limit FROM sales WHERE sale_id = :sale_id"
)
SELECT_ORDER = text("SELECT status, user_id FROM orders WHERE order_id = :order_id")
# Never sold: all the stock remains and no order (live or not) was ever written.
SELECT_UNTOUCHED = text(
    "SELECT remaining_stock = total_stock"
    " AND NOT EXISTS (SELECT 1 FROM orders WHERE orders.sale_id = sales.sale_id)"
    " FROM sales WHERE sale_id = :sale_id"
)
# The one conditional UPDATE that pays (see payments.py for the race it settles).
PAY_ORDER = text("""
    UPDATE orders SET status = 'PAID', paid_at = now(), updated_at = now()
    WHERE order_id = :order_id AND status = 'CREATED' AND expires_at > now()
      AND (CAST(:payer AS text) IS NULL OR user_id = :payer)
    RETURNING sale_id, user_id""")


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

    async def untouched(self, sale_id: str) -> bool:
        return await asyncio.to_thread(self._untouched, sale_id)

    def _untouched(self, sale_id: str) -> bool:
        with self._engine.connect() as conn:
            untouched = conn.execute(SELECT_UNTOUCHED, {"sale_id": sale_id}).scalar_one_or_none()
        return bool(untouched)


class SqlOrderStatus:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def find(self, order_id: uuid.UUID) -> OrderRecord | None:
        return await asyncio.to_thread(self._find, order_id)

    def _find(self, order_id: uuid.UUID) -> OrderRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(SELECT_ORDER, {"order_id": order_id}).first()
        return None if row is None else OrderRecord(str(row.status), str(row.user_id))


class SqlPayments:
    def __init__(self, engine: Engine, events_topic: str) -> None:
        self._engine = engine
        self._topic = events_topic

    def pay(self, command: PayOrder, payer: str | None = None) -> PaymentResult:
        """`payer`: the authenticated user, who must own the order; None checks nobody."""
        with self._engine.begin() as conn:
            paid = conn.execute(PAY_ORDER, {"order_id": command.order_id, "payer": payer}).first()
            if paid is not None:
                event = OrderPaid(
                    order_id=command.order_id, sale_id=paid.sale_id, user_id=paid.user_id
                )
                add_to_outbox(conn, self._topic, [event])
                return PaymentResult(command.order_id, PaymentOutcome.PAID)
            state = conn.execute(SELECT_ORDER, {"order_id": command.order_id}).first()
        if state is not None and payer is not None and state.user_id != payer:
            return PaymentResult(command.order_id, PaymentOutcome.NOT_OWNER)
        return PaymentResult(command.order_id, why_not_paid(state.status if state else None))
