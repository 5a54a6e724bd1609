"""Paying an order, the rules: CREATED -> PAID through one conditional UPDATE
(adapters/sql.py `SqlPayments`), and OrderPaid in the outbox in the same transaction.

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

__all__ = ["PaymentOutcome", "PaymentResult", "why_not_paid"]


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


def why_not_paid(status: str | None) -> PaymentOutcome:
    """Why the UPDATE matched nothing, from the order's status (None: no such row)."""
    if status is None:
        return PaymentOutcome.NOT_FOUND
    if status == "PAID":
        return PaymentOutcome.ALREADY_PAID  # a retried payment is answered, not refused
    if status == "CREATED":
        return PaymentOutcome.EXPIRED  # the one reason a CREATED order is not payable
    if status == "CANCELLED":
        return PaymentOutcome.CANCELLED
    return PaymentOutcome.FAILED
