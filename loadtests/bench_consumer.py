"""The inventory consumer's unthrottled write rate into PostgreSQL, for batch sizes 1, 100
and 500, measured side by side in one run.

For each batch size: a fresh sale and a fresh orders topic, N OrderPlaced produced up
front, then the real consumer (bootstrap(), relay and expiry off) drains the topic. The
clock starts at the first committed order (the group join is not the consumer's speed)
and stops when all N are in the DB. The ratios are against batch-of-1: one transaction,
one fsync per order, which is what a naive consumer does; and against pgbench's raw
100-row transactions (4 clients, and 1 client: one consumer is one connection), measured
right after, in the same run. Batch 500 runs again as two `python -m inventory_consumer`
processes in one group, the autoscaling pool's shape; they get the orders only once both
hold partitions. pgbench also writes the consumer's own rows (bench_raw.py) on one and on
two connections: what its SQL alone does on the same cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]
from sqlalchemy import Engine

from flashsale.contracts import OrderPlaced, encode
from flashsale.db import make_engine
from flashsale.ids import uuid7
from flashsale.kafka import producer_config
from flashsale.settings import InfraSettings
from inventory_consumer.bootstrap import bootstrap
from inventory_consumer.settings import InventoryConsumerSettings
from loadtests.bench_raw import PG_BATCH, Row, pg_batch_rows
from loadtests.bench_scratch import count_orders, scratch, suffix

__all__ = ["BESIDE", "PG_BESIDE", "POOL_ROW", "drain_rate", "run"]

# Orders per batch size: a few seconds of draining each (batch 500 drains 20-30K/s, so
# 80K of them: a window of a second or two made a poll's 50 ms a few % of the figure).
SIZES = {1: 1500, 100: 30000, 500: 80000}
# pgbench's 100-row transactions, measured right after the consumer (bench_raw.py).
BESIDE = ", beside the consumer"
# Processes in one group, as the autoscaling pool runs them: pgbench has 4 clients.
POOL_WORKERS = 2
POOL_ROW = f"inventory consumer, batch 500, {POOL_WORKERS} processes"
PG_BESIDE = f"{PG_BATCH}{BESIDE}"


def _produce(infra: InfraSettings, topic: str, sale_id: str, n: int) -> None:
    producer = Producer(
        producer_config(infra.kafka_bootstrap, "bench-producer", **{"linger.ms": 20})
    )
    now = datetime.now(UTC)
    for i in range(n):
        order = OrderPlaced(
            order_id=uuid7(), sale_id=sale_id, user_id=f"b{i}", quantity=1, placed_at=now
        )
        while True:
            try:
                producer.produce(topic, encode(order), order.user_id)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(60)


def _wait_for_members(bootstrap: str, group: str, members: int) -> None:
    """Until `members` consumers hold partitions in `group` (60 s at most)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = admin.describe_consumer_groups([group])[group].result(10).members
        if len(found) == members and all(m.assignment.topic_partitions for m in found):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{group}: {members} members never held partitions")


def _settings(infra: InfraSettings, batch: int) -> InventoryConsumerSettings:
    return InventoryConsumerSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        database_url=infra.database_url,
        redis_url=infra.redis_url,
        orders_topic=f"bench.orders.{suffix()}",
        order_events_topic=f"bench.events.{suffix()}",
        inventory_group_id=f"bench-{suffix()}",
        batch_max_messages=batch,
        max_orders_per_second=0,
        relay_enabled=False,
        expiry_enabled=False,
        order_ttl_s=30 * 86_400,  # never swept by a real expiry worker sharing the DB
    )


# The settings a worker process gets through its environment (FLASHSALE_<FIELD>).
_WORKER_ENV = (
    "kafka_bootstrap",
    "database_url",
    "redis_url",
    "orders_topic",
    "order_events_topic",
    "inventory_group_id",
    "batch_max_messages",
    "max_orders_per_second",
    "relay_enabled",
    "expiry_enabled",
    "order_ttl_s",
)


@contextmanager
def _in_thread(settings: InventoryConsumerSettings) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=bootstrap(settings, stop).run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


@contextmanager
def _processes(settings: InventoryConsumerSettings, workers: int) -> Iterator[None]:
    """`workers` processes of `python -m inventory_consumer` in one group, as the
    autoscaling pool runs them."""
    env = {k: v for k, v in os.environ.items() if k != "FLASHSALE_INVENTORY_METRICS_PORT"}
    env |= {f"FLASHSALE_{field.upper()}": str(getattr(settings, field)) for field in _WORKER_ENV}
    argv = [sys.executable, "-m", "inventory_consumer"]
    procs = [subprocess.Popen(argv, env=env) for _ in range(workers)]  # noqa: S603
    try:
        yield
    finally:
        for proc in procs:
            proc.terminate()  # SIGTERM: the batch in hand finishes, offsets are committed
        for proc in procs:
            proc.wait(30)


def _time_drain(engine: Engine, sale_id: str, n: int) -> float:
    """Orders/s from the first committed order until all n are in the DB."""
    deadline = time.monotonic() + 120
    while (first := count_orders(engine, sale_id)) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    while (done := count_orders(engine, sale_id)) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    if done < n:
        raise RuntimeError(f"only {done}/{n} orders in 120 s")
    return (n - first) / (time.monotonic() - started)


def drain_rate(infra: InfraSettings, engine: Engine, batch: int, n: int, workers: int = 1) -> float:
    """Orders/s the consumer writes with batches of `batch` (unthrottled). One consumer
    finds its topic full; a pool gets the orders only once every member holds its
    partitions, so that no member drains alone while the others start."""
    settings = _settings(infra, batch)
    with scratch(infra, engine, settings, n) as sale_id:
        produce = partial(_produce, infra, settings.orders_topic, sale_id, n)
        if workers == 1:
            produce()
        with _in_thread(settings) if workers == 1 else _processes(settings, workers):
            if workers > 1:
                _wait_for_members(infra.kafka_bootstrap, settings.inventory_group_id, workers)
                produce()
            return _time_drain(engine, sale_id, n)


def run(infra: InfraSettings | None = None) -> list[Row]:
    """The consumer at each batch size, then pgbench's 100-row transactions right after
    it: the consumer's figures and the one they are held to, from the same minute."""
    infra = infra or InfraSettings()
    engine = make_engine(infra.database_url)
    rates = {
        f"inventory consumer, batch {batch}": drain_rate(infra, engine, batch, n)
        for batch, n in SIZES.items()
    }
    rates[POOL_ROW] = drain_rate(infra, engine, 500, SIZES[500], workers=POOL_WORKERS)
    engine.dispose()
    pg = pg_batch_rows(infra, BESIDE)
    pg_rate = next(row.rate for row in pg if row.name == PG_BESIDE)
    one = rates["inventory consumer, batch 1"]
    return [
        Row(name, rate, "orders/s", f"{rate / one:.1f}x batch-of-1, {rate / pg_rate:.3f}x pg")
        for name, rate in rates.items()
    ] + pg


if __name__ == "__main__":
    for row in run():
        print(f"{row.name:<52} {row.rate:>10.0f} {row.unit:<9} {row.note}")
