"""What to send for an order event, and to whom. Pure: no I/O.

Recipients: the system knows users only by `user_id`. For email, a user id that is an
address (contains '@') is used as is; any other id becomes `<user_id>@<email_domain>`,
the convention of a deployment whose user ids are mailbox names. For sms/push the
webhook receives the user id and resolves the phone number or device itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from flashsale.contracts import OrderCancelled, OrderCreated, OrderPaid

__all__ = ["KINDS", "Notice", "notice_for", "recipient_for"]

NotifiedEvent = OrderCreated | OrderPaid | OrderCancelled
KINDS: dict[type[NotifiedEvent], str] = {
    OrderCreated: "order_created",
    OrderPaid: "order_paid",
    OrderCancelled: "order_cancelled",
}


@dataclass(frozen=True)
class Notice:
    order_id: uuid.UUID
    kind: str
    channel: str
    recipient: str
    subject: str
    body: str

    @property
    def key(self) -> tuple[uuid.UUID, str]:
        """The unique key: one notification per (order, kind), ever."""
        return (self.order_id, self.kind)


def recipient_for(user_id: str, channel: str, email_domain: str) -> str:
    if channel != "email":
        return user_id
    return user_id if "@" in user_id else f"{user_id}@{email_domain}"


def _text(event: NotifiedEvent) -> tuple[str, str]:
    if isinstance(event, OrderCreated):
        due = event.expires_at.strftime("%Y-%m-%d %H:%M:%S %Z")
        return (
            f"Order {event.order_id} confirmed",
            f"You got {event.quantity} item(s) of sale {event.sale_id}. Please pay before {due}.",
        )
    if isinstance(event, OrderPaid):
        return (
            f"Order {event.order_id} paid",
            f"Thank you: your order for {event.sale_id} is paid.",
        )
    return (
        f"Order {event.order_id} cancelled",
        f"Your order for {event.sale_id} was cancelled ({event.reason}); the stock was released.",
    )


def notice_for(event: object, channels: Mapping[str, str], email_domain: str) -> Notice | None:
    """The notice for an event, or None for events nobody is notified of (OrderFailed:
    its token was never confirmed to the user by email, so there is nothing to retract)."""
    if not isinstance(event, OrderCreated | OrderPaid | OrderCancelled):
        return None
    kind = KINDS[type(event)]
    channel = channels.get(kind)
    if channel is None:
        return None
    subject, body = _text(event)
    recipient = recipient_for(event.user_id, channel, email_domain)
    return Notice(event.order_id, kind, channel, recipient, subject, body)
