"""The inventory consumer's unthrottled write rate into PostgreSQL, for batch sizes 1, 100
and 500, measured side by side in one run.

For each batch size: a fresh sale and a fresh orders topic, N OrderPlaced produced up
front, then the real consumer (bootstrap(), relay and expiry off) drains the topic. The
clock starts at the first committed order (the group join is not the consumer's speed)
and stops when all N are in the DB. The ratios are against batch-of-1: one transaction,
one fsync per order, which is what a naive consumer does.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from sqlalchemy import Engine, text

from flashsale.contracts import CreateSale, OrderPlaced, encode
from flashsale.db import make_engine
from flashsale.db.sales import insert_sale
from flashsale.kafka import producer_config
from flashsale.settings import InfraSettings
from inventory_consumer.bootstrap import bootstrap
from inventory_consumer.settings import InventoryConsumerSettings
from loadtests.bench_raw import Row

__all__ = ["count_orders", "fresh_sale", "run"]

# Orders per batch size: enough for a few seconds each; the whole bench stays < 1 min.
SIZES = {1: 1500, 100: 15000, 500: 15000}


def _suffix() -> str:
    return uuid.uuid4().hex[:10]


def fresh_sale(engine: Engine, stock: int) -> str:
    sale_id = f"bench-{_suffix()}"
    now = datetime.now(UTC)
    with engine.begin() as conn:
        insert_sale(
            conn,
            CreateSale(
                sale_id=sale_id,
                name="bench",
                stock=stock,
                starts_at=now,
                ends_at=now + timedelta(hours=1),
            ),
        )
    return sale_id


def _preproduce(infra: InfraSettings, topic: str, sale_id: str, n: int) -> None:
    admin = AdminClient({"bootstrap.servers": infra.kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=12, replication_factor=-1)])[topic].result(
        30
    )
    producer = Producer(
        producer_config(infra.kafka_bootstrap, "bench-producer", **{"linger.ms": 20})
    )
    now = datetime.now(UTC)
    for i in range(n):
        order = OrderPlaced(
            order_id=uuid.uuid4(), sale_id=sale_id, user_id=f"b{i}", quantity=1, placed_at=now
        )
        while True:
            try:
                producer.produce(topic, encode(order), order.user_id)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(60)


def count_orders(engine: Engine, sale_id: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM orders WHERE sale_id = :s"), {"s": sale_id}
            ).scalar_one()
        )


def drain_rate(infra: InfraSettings, engine: Engine, batch: int, n: int) -> float:
    """Orders/s the consumer writes with batches of `batch` (unthrottled)."""
    sale_id = fresh_sale(engine, n)
    settings = InventoryConsumerSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        database_url=infra.database_url,
        redis_url=infra.redis_url,
        orders_topic=f"bench.orders.{_suffix()}",
        order_events_topic=f"bench.events.{_suffix()}",
        inventory_group_id=f"bench-{_suffix()}",
        batch_max_messages=batch,
        relay_enabled=False,
        expiry_enabled=False,
        order_ttl_s=30 * 86_400,  # never swept by a real expiry worker sharing the DB
    )
    _preproduce(infra, settings.orders_topic, sale_id, n)
    stop = threading.Event()
    app = bootstrap(settings, stop)
    worker = threading.Thread(target=app.run, daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while (first := count_orders(engine, sale_id)) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        while (done := count_orders(engine, sale_id)) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        worker.join(30)
        with engine.begin() as conn:  # no relay here: do not leave unsent rows behind
            conn.execute(
                text("DELETE FROM outbox WHERE topic = :t"), {"t": settings.order_events_topic}
            )
    if done < n:
        raise RuntimeError(f"batch {batch}: only {done}/{n} orders in 120 s")
    return (n - first) / elapsed


def run(infra: InfraSettings | None = None) -> list[Row]:
    infra = infra or InfraSettings()
    engine = make_engine(infra.database_url)
    rates = {batch: drain_rate(infra, engine, batch, n) for batch, n in SIZES.items()}
    engine.dispose()
    return [
        Row(
            f"inventory consumer, batch {batch}",
            rate,
            "orders/s",
            f"{rate / rates[1]:.1f}x batch-of-1",
        )
        for batch, rate in rates.items()
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row.name:<36} {row.rate:>10.0f} {row.unit:<9} {row.note}")
