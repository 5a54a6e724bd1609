"""Done-when 2: SIGKILL the consumer process in the middle of its work, restart it: the DB
ends with exactly the rows of a clean run, no loss, no duplicates (orders, stock, outbox).
Then SIGTERM: the consumer finishes its batch, commits and exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from flashsale.lag import group_lag
from flashsale.settings import InfraSettings
from inventory_consumer.settings import InventoryConsumerSettings
from tests.fulfilment_helpers import (
    create_sale,
    inventory_settings,
    placed,
    produce_orders,
    scalar,
)
from tests.polling import eventually

pytestmark = pytest.mark.integration

ORDERS, STOCK = 2000, 2500
ROOT = Path(__file__).resolve().parents[2]


def _start(settings: InventoryConsumerSettings, log: Path) -> subprocess.Popen[bytes]:
    fields = ("kafka_bootstrap", "redis_url", "database_url", "orders_topic", "order_events_topic",
              "dlq_topic", "inventory_group_id", "batch_max_messages", "max_orders_per_second")  # fmt: skip
    env = {**os.environ, **{f"FLASHSALE_{f.upper()}": str(getattr(settings, f)) for f in fields}}
    env["FLASHSALE_EXPIRY_ENABLED"] = "false"
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "inventory_consumer"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip


def test_sigkill_mid_batch_then_restart_loses_and_duplicates_nothing(
    infra: InfraSettings, engine: Engine, tmp_path: Path
) -> None:
    sale_id = create_sale(engine, infra, STOCK, "kill")
    orders = [placed(sale_id) for _ in range(ORDERS)]
    # Throttled so the work lasts a few seconds and the kill lands in the middle of it.
    settings = inventory_settings(infra, batch_max_messages=50, max_orders_per_second=500)
    produce_orders(infra.kafka_bootstrap, settings.orders_topic, orders)
    count = "SELECT count(*) FROM orders WHERE sale_id = :s"
    log = tmp_path / "consumer.log"

    first = _start(settings, log)
    try:
        eventually(lambda: scalar(engine, count, s=sale_id) >= ORDERS // 5, 60, "some batches")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    killed_at = scalar(engine, count, s=sale_id)
    assert killed_at < ORDERS, "the kill came too late to test anything"

    second = _start(settings, log)
    try:
        eventually(lambda: scalar(engine, count, s=sale_id) == ORDERS, 60, "every order")
        eventually(
            lambda: group_lag(infra.kafka_bootstrap, settings.inventory_group_id, settings.orders_topic) == 0,
            30, "the offsets committed",
        )  # fmt: skip
    finally:
        second.send_signal(signal.SIGTERM)
        code = second.wait(30)
    assert code == 0, log.read_text()[-3000:]

    ids = {str(o.order_id) for o in orders}
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT order_id, status FROM orders WHERE sale_id = :s"), {"s": sale_id}
        ).all()
        created = conn.execute(
            text(
                "SELECT key, count(*) FROM outbox WHERE topic = :t AND event_type = 'OrderCreated' GROUP BY key"
            ),
            {"t": settings.order_events_topic},
        ).all()
    assert {str(r.order_id) for r in rows} == ids and len(rows) == ORDERS
    assert {r.status for r in rows} == {"CREATED"}
    assert (
        scalar(engine, "SELECT remaining_stock FROM sales WHERE sale_id = :s", s=sale_id)
        == STOCK - ORDERS
    )
    assert {k for k, _ in created} == ids
    assert {n for _, n in created} == {1}  # one OrderCreated per order, redelivery or not
    print(f"killed with {killed_at}/{ORDERS} orders written")
