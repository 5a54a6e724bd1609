"""Done-when 1: 1,000 OrderPlaced, 10% duplicated, give exactly the unique orders, the right
stock and one email per order: inventory consumer -> outbox relay -> order-events ->
notification consumer -> a real SMTP server."""

from __future__ import annotations

import random
import time

import pytest
from sqlalchemy import Engine, text

from flashsale.settings import InfraSettings
from notification_consumer.adapters.smtp import message_id
from notification_consumer.notices import Notice
from tests.fulfilment_helpers import (
    SmtpSink,
    create_sale,
    inventory_settings,
    notification_settings,
    placed,
    produce_orders,
    running_inventory,
    running_notifications,
    scalar,
)
from tests.polling import eventually

pytestmark = pytest.mark.integration

UNIQUE, DUPLICATES, STOCK = 900, 100, 1000


def test_duplicates_change_nothing_and_each_order_gets_one_email(
    infra: InfraSettings, engine: Engine
) -> None:
    sale_id = create_sale(engine, infra, STOCK, "dups")
    orders = [placed(sale_id) for _ in range(UNIQUE)]
    messages = orders + random.sample(orders, DUPLICATES)
    random.shuffle(messages)
    inventory = inventory_settings(infra, batch_max_messages=100)
    produce_orders(infra.kafka_bootstrap, inventory.orders_topic, messages)

    with SmtpSink() as smtp:
        notify = notification_settings(infra, inventory, smtp.port)
        with running_inventory(inventory), running_notifications(notify):
            eventually(lambda: len(smtp.received()) >= UNIQUE, 90, "one email per order")
            time.sleep(1.5)  # a late duplicate email would show up here
        mails = smtp.received()

    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT order_id, status FROM orders WHERE sale_id = :s"), {"s": sale_id}
        ).all()
    assert sorted(str(r.order_id) for r in rows) == sorted(str(o.order_id) for o in orders)
    assert {r.status for r in rows} == {"CREATED"}
    assert (
        scalar(engine, "SELECT remaining_stock FROM sales WHERE sale_id = :s", s=sale_id)
        == STOCK - UNIQUE
    )
    outboxed = scalar(
        engine,
        "SELECT count(*) FROM outbox WHERE topic = :t AND event_type = 'OrderCreated'",
        t=inventory.order_events_topic,
    )
    assert outboxed == UNIQUE

    assert len(mails) == UNIQUE
    expected = {
        message_id(
            Notice(o.order_id, "order_created", "email", "", "", "")
        ): f"{o.user_id}@shop.test"
        for o in orders
    }
    assert {m["Message-ID"]: m["To"] for m in mails} == expected
    sent = scalar(
        engine,
        "SELECT count(*) FROM notifications n JOIN orders o USING (order_id)"
        " WHERE o.sale_id = :s AND n.kind = 'order_created' AND n.status = 'SENT'",
        s=sale_id,
    )
    assert sent == UNIQUE
