"""The inventory consumer's adapters as small interfaces: the handler and the relay see
only these (adapters/sql.py and adapters/redis_stock.py implement them)."""

from __future__ import annotations

from typing import Protocol

from flashsale.contracts import OrderPlaced
from flashsale.dlq import DeadLetterSink
from inventory_consumer.plan import BatchOutcome, BatchPlan

__all__ = ["BatchStore", "DeadLetterSink", "StockDrift", "StockReleases"]


class BatchStore(Protocol):
    """PostgreSQL's side of a batch: each call is one transaction of its own."""

    def apply(self, plan: BatchPlan) -> BatchOutcome: ...

    def fail_placed(self, placed: OrderPlaced, reason: str) -> None:
        """Write the FAILED row (and OrderFailed) of a dead-lettered placement."""

    def refuse_oversold(self, placed: OrderPlaced) -> None:
        """PostgreSQL has no stock left for this placement: Redis drifted. Write its FAILED
        row (and OrderFailed); the caller has already told Redis (StockDrift), so the
        relay's release of it is a no-op and the unit never goes back to Redis."""


class StockReleases(Protocol):
    """What the outbox relay does to Redis for an OrderCancelled/OrderFailed/OrderReinstated."""

    def release(self, sale_id: str, order_id: str, user_id: str, quantity: int) -> bool: ...

    def reinstate(self, sale_id: str, order_id: str, user_id: str) -> None:
        """A void lost to its placement: the user's slot "void:<id>" becomes the order id."""


class StockDrift(Protocol):
    def record_drift(self, sale_id: str, order_id: str, user_id: str) -> bool:
        """PostgreSQL refused this order for lack of stock: never give its unit back to
        Redis, and close the sale there. True the first time for this order."""
