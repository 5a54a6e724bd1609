"""Done-when 3: poison goes to the DLQ with its headers while the messages behind it are
processed; an order the database refuses for lack of stock is drift, not poison: it ends
FAILED and its unit is not handed back to Redis. And `flashsale dlq replay` re-drives dead
letters once the fault is fixed."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import redis
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from flashsale.cli import app as cli
from flashsale.contracts import OrderCreated, encode
from flashsale.dlq import H_ERROR, H_SOURCE_OFFSET, H_SOURCE_PARTITION, H_SOURCE_TOPIC, header
from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys
from inventory_consumer.adapters.sql import OVERSOLD_REASON
from tests.fulfilment_helpers import (
    SmtpSink,
    create_sale,
    free_port,
    inventory_settings,
    notification_settings,
    placed,
    produce,
    reserve_in_redis,
    running_inventory,
    running_notifications,
    scalar,
)
from tests.kafka_helpers import read_topic
from tests.polling import eventually

pytestmark = pytest.mark.integration


def test_poison_goes_to_the_dlq_with_headers_and_later_messages_are_processed(
    infra: InfraSettings, engine: Engine, redis_client: redis.Redis
) -> None:
    sale_id = create_sale(engine, infra, 5, "poison")
    # The DB holds one unit less than Redis (Redis drifted): the fifth order would oversell
    # the DB. The CHECK refuses it; it must neither stall nor send a unit back to Redis.
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE sales SET total_stock = 4, remaining_stock = 4 WHERE sale_id = :s"),
            {"s": sale_id},
        )
    good = [placed(sale_id) for _ in range(5)]
    reserve_in_redis(redis_client, sale_id, good)
    ghost = placed("sale-that-does-not-exist")
    settings = inventory_settings(infra, partitions=1)
    stream = [
        (good[0].user_id, encode(good[0])),
        ("x", b"\x00 not json at all"),  # offset 1
        (ghost.user_id, encode(ghost)),  # offset 2: unknown sale, the foreign key refuses it
        *[(o.user_id, encode(o)) for o in good[1:]],  # offsets 3..6; 6 oversells the DB
    ]
    status = "SELECT status FROM orders WHERE order_id = :o"
    produce(infra.kafka_bootstrap, settings.orders_topic, stream)

    with running_inventory(settings):
        dead = read_topic(infra.kafka_bootstrap, settings.dlq_topic, 2, timeout=30)
        eventually(
            lambda: scalar(engine, status, o=good[4].order_id) == "FAILED", 20, "the refusal"
        )
        time.sleep(1)  # the relay's release of its OrderFailed would show here

    assert sorted(int(header(m, H_SOURCE_OFFSET) or -1) for m in dead) == [1, 2]
    for msg in dead:
        assert header(msg, H_SOURCE_TOPIC) == settings.orders_topic
        assert header(msg, H_SOURCE_PARTITION) == "0"
        assert header(msg, H_ERROR)
    by_offset = {header(m, H_SOURCE_OFFSET): m for m in dead}
    assert by_offset["1"].value() == b"\x00 not json at all"  # byte for byte

    with engine.connect() as conn:
        rows: dict[object, str] = dict(
            conn.execute(
                text("SELECT order_id, status FROM orders WHERE sale_id = :s"), {"s": sale_id}
            ).all()
        )
    assert {str(k): v for k, v in rows.items()} == {
        **{str(o.order_id): "CREATED" for o in good[:4]},
        str(good[4].order_id): "FAILED",
    }
    assert scalar(engine, "SELECT remaining_stock FROM sales WHERE sale_id = :s", s=sale_id) == 0
    reason = "SELECT reason FROM orders WHERE order_id = :o"
    assert scalar(engine, reason, o=good[4].order_id) == OVERSOLD_REASON
    keys = SaleKeys(sale_id)
    assert redis_client.get(keys.stock) == "0"  # closed, and the refused unit not released
    assert redis_client.sismember(keys.released, str(good[4].order_id))
    assert redis_client.hget(keys.buyers, good[4].user_id) is None  # the user may buy again
    assert redis_client.hget(keys.buyers, good[0].user_id) == str(good[0].order_id)


def test_dlq_replay_redrives_a_failed_notification_after_the_fix(
    infra: InfraSettings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sale_id = create_sale(engine, infra, 1, "replay")
    inventory = inventory_settings(infra, partitions=1)
    order = placed(sale_id, user_id="dora")
    created = OrderCreated(order_id=order.order_id, sale_id=sale_id, user_id="dora", quantity=1,
                           expires_at=datetime.now(UTC))  # fmt: skip
    produce(
        infra.kafka_bootstrap,
        inventory.order_events_topic,
        [(str(order.order_id), encode(created))],
    )

    dead_port = free_port()  # nobody listens: every send fails, the event is dead-lettered
    broken = notification_settings(infra, inventory, dead_port, max_attempts=2)
    with running_notifications(broken):
        read_topic(infra.kafka_bootstrap, inventory.dlq_topic, 1, timeout=30)
    status = "SELECT status FROM notifications WHERE order_id = :o AND kind = 'order_created'"
    assert scalar(engine, status, o=order.order_id) == "FAILED"

    with SmtpSink() as smtp:  # the fix: the mail server is back
        fixed = notification_settings(
            infra, inventory, smtp.port, notification_group_id=broken.notification_group_id
        )
        for key, value in {
            "FLASHSALE_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
            "FLASHSALE_DLQ_TOPIC": inventory.dlq_topic,
        }.items():
            monkeypatch.setenv(key, value)
        result = CliRunner().invoke(
            cli,
            [
                "dlq",
                "replay",
                "--timeout",
                "30",
                "--group",
                f"{broken.notification_group_id}-replay",
            ],
        )
        assert result.exit_code == 0, result.output
        assert f"replayed 1 to {inventory.order_events_topic}" in result.output
        with running_notifications(fixed):
            eventually(lambda: len(smtp.received()) >= 1, 30, "the replayed email")
        assert [m["To"] for m in smtp.received()] == ["dora@shop.test"]
    assert scalar(engine, status, o=order.order_id) == "SENT"
    # A second replay finds nothing new: the replay group committed its progress.
    again = CliRunner().invoke(
        cli,
        ["dlq", "replay", "--timeout", "20", "--group", f"{broken.notification_group_id}-replay"],
    )
    assert "replayed 0," in again.output
