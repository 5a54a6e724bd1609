"""Paying an order: CREATED -> PAID through one conditional UPDATE, and OrderPaid in the
outbox in the same transaction.

The race with the expiry worker is settled by PostgreSQL: both update only
`WHERE status = 'CREATED'`, so whichever commits second matches no row. A payment also
requires `expires_at > now()`: an order past its TTL is not payable even before the
worker has cancelled it, so the worker never cancels an order that was just paid.

With a payer (the authenticated buyer), only the order's own user may pay it: the
UPDATE matches no one else's order, which is then refused as not theirs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Engine, text

from flashsale.contracts import OrderPaid, PayOrder
from flashsale.outbox import add_to_outbox

__all__ = ["PaymentOutcome", "PaymentResult", "Payments"]

_PAY = text("""
    UPDATE orders SET status = 'PAID', paid_at = now(), updated_at = now()
    WHERE order_id = :order_id AND status = 'CREATED' AND expires_at > now()
      AND (CAST(:payer AS text) IS NULL OR user_id = :payer)
    RETURNING sale_id, user_id""")

_STATE = text("SELECT status, user_id FROM orders WHERE order_id = :order_id")


class PaymentOutcome(StrEnum):
    PAID = "paid"
    ALREADY_PAID = "already_paid"
    NOT_FOUND = "order_not_found"  # unknown, or not yet written by the inventory consumer
    NOT_OWNER = "not_order_owner"  # someone else's: its state is not theirs to learn
    EXPIRED = "order_expired"  # past its TTL; the expiry worker cancels it
    CANCELLED = "order_cancelled"
    FAILED = "order_failed"


@dataclass(frozen=True)
class PaymentResult:
    order_id: uuid.UUID
    outcome: PaymentOutcome


class Payments:
    def __init__(self, engine: Engine, events_topic: str) -> None:
        self._engine = engine
        self._topic = events_topic

    def pay(self, command: PayOrder, payer: str | None = None) -> PaymentResult:
        """`payer`: the authenticated user, who must own the order; None checks nobody."""
        with self._engine.begin() as conn:
            paid = conn.execute(_PAY, {"order_id": command.order_id, "payer": payer}).first()
            if paid is not None:
                event = OrderPaid(
                    order_id=command.order_id, sale_id=paid.sale_id, user_id=paid.user_id
                )
                add_to_outbox(conn, self._topic, [event])
                return PaymentResult(command.order_id, PaymentOutcome.PAID)
            state = conn.execute(_STATE, {"order_id": command.order_id}).first()
        if state is not None and payer is not None and state.user_id != payer:
            return PaymentResult(command.order_id, PaymentOutcome.NOT_OWNER)
        return PaymentResult(command.order_id, _why_not(state.status if state else None))


def _why_not(status: str | None) -> PaymentOutcome:
    if status is None:
        return PaymentOutcome.NOT_FOUND
    if status == "PAID":
        return PaymentOutcome.ALREADY_PAID  # a retried payment is answered, not refused
    if status == "CREATED":
        return PaymentOutcome.EXPIRED  # the one reason a CREATED order is not payable
    if status == "CANCELLED":
        return PaymentOutcome.CANCELLED
    return PaymentOutcome.FAILED
