"""The order service's adapters as small interfaces: handlers see only these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from flashsale.contracts import CreateSale, PayOrder
from order_service.domain import Reservation
from order_service.payments import PaymentResult

__all__ = [
    "Due",
    "IdempotencyStore",
    "OrderPayments",
    "OrderPublisher",
    "OrderRecord",
    "OrderStatusReader",
    "Reservations",
    "SaleStock",
    "SalesRepository",
]


@dataclass(frozen=True)
class Due:
    """A pending reservation (OrderPlaced JSON) or a void (OrderVoided JSON) to publish."""

    sale_id: str
    order_id: str
    payload: str


class Reservations(Protocol):
    async def reserve(
        self, sale_id: str, user_id: str, quantity: int, order_id: str, now_ms: int, placed: str
    ) -> Reservation: ...

    async def acknowledged(self, sale_id: str, order_id: str) -> None:
        """Kafka has the OrderPlaced: drop it from pending, remember which sale it is in."""

    async def mark_void(self, sale_id: str, user_id: str, order_id: str, voided: str) -> None:
        """The produce failed: the reservation becomes a void to publish (never re-placed),
        and the user's slot "void:<order id>" until the consumer applied the void."""

    async def void_settled(self, sale_id: str, order_id: str) -> None:
        """Kafka has the void: nothing left to publish. The stock is not back yet."""

    async def due_pending(self, older_than_ms: int, limit: int) -> list[Due]: ...

    async def due_voids(self, limit: int) -> list[Due]: ...

    async def sale_of_order(self, order_id: str) -> str | None: ...

    async def order_of_buyer(self, sale_id: str, user_id: str) -> str | None:
        """What the user's slot in the sale holds: an order id, "void:<id>" or None."""

    async def prune_ended(self, ended_before_ms: int) -> list[str]:
        """Take the sales that ended before the cutoff with nothing left to publish out
        of the recovery scan (their keys stay); return their ids."""


class IdempotencyStore(Protocol):
    async def claim(self, sale_id: str, user_id: str, key: str) -> str | None:
        """None: this request owns the key. Else the stored answer, or "" while in flight."""

    async def store(self, sale_id: str, user_id: str, key: str, answer: str) -> None: ...

    async def forget(self, sale_id: str, user_id: str, key: str) -> None: ...


class SaleStock(Protocol):
    async def is_loaded(self, sale_id: str) -> bool: ...

    async def load(self, sale: CreateSale) -> None: ...


class OrderPublisher(Protocol):
    async def publish(self, key: str, payload: bytes) -> None:
        """Resolves on the delivery report; raises flashsale.async_producer.DeliveryFailed."""

    @property
    def healthy(self) -> bool:
        """False while the producer is being replaced after a fatal error."""


class SalesRepository(Protocol):
    async def add(self, sale: CreateSale) -> str:
        """ "created", "same" (an identical sale exists) or "conflict"."""

    async def untouched(self, sale_id: str) -> bool:
        """Nothing was ever sold: no order row, and all of its stock remains."""


@dataclass(frozen=True)
class OrderRecord:
    """A written order, as much as the status route needs: its state and its owner."""

    status: str
    user_id: str


class OrderStatusReader(Protocol):
    async def find(self, order_id: uuid.UUID) -> OrderRecord | None: ...


class OrderPayments(Protocol):
    def pay(self, command: PayOrder, payer: str | None = None) -> PaymentResult:
        """Synchronous (the SQL engine is): its route runs in FastAPI's thread pool."""
