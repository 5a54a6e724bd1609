"""The unpaid-order timeout: cancels CREATED orders past their expires_at.

One statement picks and cancels them: SKIP LOCKED lets several workers share the work,
and skips an order whose payment holds its row lock right now. Payment and expiry both
update only `WHERE status = 'CREATED'`, so whichever commits second finds nothing to do:
every order ends in exactly one of PAID or CANCELLED.

In the same transaction the DB stock comes back and an OrderCancelled goes to the outbox;
the relay then returns the Redis stock (idempotent per order id), which frees the user's
purchase slot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import Engine, text

from flashsale.contracts import OrderCancelled
from flashsale.outbox import add_to_outbox
from inventory_consumer.adapters.sql import move_stock

__all__ = ["ExpiryWorker"]

_EXPIRE = text("""
    WITH due AS (
        SELECT order_id FROM orders
        WHERE status = 'CREATED' AND expires_at < now()
          AND (CAST(:sale_ids AS text[]) IS NULL OR sale_id = ANY(CAST(:sale_ids AS text[])))
        ORDER BY expires_at LIMIT :limit
        FOR UPDATE SKIP LOCKED)
    UPDATE orders o SET status = 'CANCELLED', reason = 'payment timeout', updated_at = now()
    FROM due WHERE o.order_id = due.order_id AND o.status = 'CREATED'
    RETURNING o.order_id, o.sale_id, o.user_id, o.quantity""")


class ExpiryWorker:
    def __init__(
        self,
        engine: Engine,
        events_topic: str,
        batch: int = 500,
        sale_ids: Sequence[str] | None = None,  # None: every sale (tests scope it)
    ) -> None:
        self._engine = engine
        self._topic = events_topic
        self._batch = batch
        self._sale_ids = list(sale_ids) if sale_ids is not None else None

    def expire_once(self) -> int:
        """Cancel one batch of expired orders; return how many."""
        with self._engine.begin() as conn:
            rows = conn.execute(_EXPIRE, {"limit": self._batch, "sale_ids": self._sale_ids}).all()
            stock: Counter[str] = Counter()
            for row in rows:
                stock[row.sale_id] += row.quantity
            move_stock(conn, stock)
            add_to_outbox(
                conn,
                self._topic,
                [
                    OrderCancelled(
                        order_id=r.order_id,
                        sale_id=r.sale_id,
                        user_id=r.user_id,
                        quantity=r.quantity,
                        reason="payment timeout",
                    )
                    for r in rows
                ],
            )
            return len(rows)
