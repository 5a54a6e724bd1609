"""What to send for an order event, and to whom (notification_consumer/notices.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from flashsale.contracts import OrderCancelled, OrderCreated, OrderFailed, OrderPaid
from notification_consumer.notices import notice_for, recipient_for

ROUTES = {"order_created": "email", "order_paid": "sms", "order_cancelled": "email"}


def test_recipient_derivation() -> None:
    assert recipient_for("carol", "email", "shop.test") == "carol@shop.test"
    assert recipient_for("carol@mail.test", "email", "shop.test") == "carol@mail.test"
    assert recipient_for("carol", "sms", "shop.test") == "carol"


def test_each_notified_event_gets_its_kind_channel_and_recipient() -> None:
    order_id = uuid.uuid4()
    expires = datetime.now(UTC) + timedelta(minutes=15)
    events = [
        OrderCreated(
            order_id=order_id, sale_id="s1", user_id="dan", quantity=2, expires_at=expires
        ),
        OrderPaid(order_id=order_id, sale_id="s1", user_id="dan"),
        OrderCancelled(order_id=order_id, sale_id="s1", user_id="dan", quantity=2, reason="late"),
    ]
    notices = [notice_for(e, ROUTES, "shop.test") for e in events]
    assert [(n.kind, n.channel, n.recipient) for n in notices if n is not None] == [
        ("order_created", "email", "dan@shop.test"),
        ("order_paid", "sms", "dan"),
        ("order_cancelled", "email", "dan@shop.test"),
    ]
    assert {n.key for n in notices if n is not None} == {
        (order_id, "order_created"), (order_id, "order_paid"), (order_id, "order_cancelled"),
    }  # fmt: skip


def test_no_notice_for_a_failed_order_or_a_kind_without_a_channel() -> None:
    failed = OrderFailed(order_id=uuid.uuid4(), sale_id="s1", user_id="eve", quantity=1, reason="x")
    paid = OrderPaid(order_id=uuid.uuid4(), sale_id="s1", user_id="eve")
    assert notice_for(failed, ROUTES, "shop.test") is None
    assert notice_for(paid, {"order_created": "email"}, "shop.test") is None
