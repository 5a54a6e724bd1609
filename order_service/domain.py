"""The admission rules, free of I/O.

`decide` is the reference statement of what reserve.lua does atomically in Redis: the
unit tests pin the rules here, an integration test checks the script agrees case by case.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flashsale.contracts import OrderPlaced, OrderVoided, PlaceOrder

__all__ = [
    "VOID_PREFIX",
    "Outcome",
    "Reservation",
    "SaleState",
    "decide",
    "ended_and_settled",
    "placed_event",
    "void_event",
]


class Outcome(StrEnum):
    RESERVED = "reserved"
    SOLD_OUT = "sold_out"
    ALREADY_PURCHASED = "already_purchased"
    VOID_PENDING = "void_pending"  # the user's last attempt was voided, not yet applied
    PENDING = "pending"  # the user's order exists but Kafka has not acknowledged it yet
    FENCED = "fenced"  # `flashsale repair` is rebuilding the sale: admission waits
    NOT_ACTIVE = "not_active"
    UNKNOWN_SALE = "unknown_sale"
    OVER_LIMIT = "over_limit"


@dataclass(frozen=True)
class Reservation:
    """What the reservation attempt answered.

    order_id: the new order (RESERVED) or the user's existing one (ALREADY_PURCHASED).
    stock_left: units left after the attempt, when the script knows it; 0 means the sale
    is sold out for everyone, which is when the local sold-out flag goes up.
    """

    outcome: Outcome
    order_id: str | None = None
    stock_left: int | None = None
    per_user_limit: int | None = None

    @property
    def sold_out_for_everyone(self) -> bool:
        return self.stock_left == 0


@dataclass(frozen=True)
class SaleState:
    starts_at_ms: int
    ends_at_ms: int
    per_user_limit: int
    stock: int
    buyers: dict[str, str]  # user_id -> order_id, or VOID_PREFIX + order_id
    # Order ids reserved but not yet acknowledged by Kafka (the ack removes them).
    pending: frozenset[str] = frozenset()
    fenced: bool = False  # the meta hash's `fenced` field: a repair is under way


# A buyers entry of an order voided after a failed produce: the slot stays taken (and its
# id is never handed out as a token) until the consumer applied the void and freed it.
VOID_PREFIX = "void:"


def decide(
    sale: SaleState | None, user_id: str, quantity: int, order_id: str, now_ms: int
) -> Reservation:
    """The checks in reserve.lua's order. A fenced sale answers nothing else: its Redis
    state is being rebuilt. A user's existing order is reported before the window and
    stock checks, so a client whose earlier request died can learn its id; a voided one
    is not an order to learn, but a wait, and neither is one Kafka has not acknowledged
    yet: its produce may still fail and void it."""
    if sale is None:
        return Reservation(Outcome.UNKNOWN_SALE)
    if sale.fenced:
        return Reservation(Outcome.FENCED)
    existing = sale.buyers.get(user_id)
    if existing is not None and existing.startswith(VOID_PREFIX):
        return Reservation(Outcome.VOID_PENDING)
    if existing is not None and existing in sale.pending:
        return Reservation(Outcome.PENDING)
    if existing is not None:
        return Reservation(Outcome.ALREADY_PURCHASED, order_id=existing)
    if not sale.starts_at_ms <= now_ms < sale.ends_at_ms:
        return Reservation(Outcome.NOT_ACTIVE)
    if quantity > sale.per_user_limit:
        return Reservation(Outcome.OVER_LIMIT, per_user_limit=sale.per_user_limit)
    if sale.stock < quantity:
        return Reservation(Outcome.SOLD_OUT, stock_left=sale.stock)
    return Reservation(Outcome.RESERVED, order_id=order_id, stock_left=sale.stock - quantity)


def ended_and_settled(ends_at_ms: int | None, unsettled: int, ended_before_ms: int) -> bool:
    """May a sale leave the recovery scan (`flashsale:sales`)? Only once it ended before
    the cutoff and has no pending entry or void left to publish. A sale whose meta is
    gone (None) stays: nobody can tell when it ended, and a repair may still need it."""
    return ends_at_ms is not None and ends_at_ms < ended_before_ms and unsettled == 0


def placed_event(command: PlaceOrder, order_id: uuid.UUID, now: datetime) -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        sale_id=command.sale_id,
        user_id=command.user_id,
        quantity=command.quantity,
        placed_at=now,
    )


def void_event(placed: OrderPlaced, reason: str) -> OrderVoided:
    return OrderVoided(
        order_id=placed.order_id,
        sale_id=placed.sale_id,
        user_id=placed.user_id,
        quantity=placed.quantity,
        reason=reason[:500],
    )
