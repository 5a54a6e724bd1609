"""Issue 9's done-when for autoscaling, on the real broker: a backlog over the up threshold
makes the pool (`python -m inventory_consumer.pool`, real worker processes) grow; once it
drained, the pool shrinks back to min; PostgreSQL then holds every order exactly once,
nothing lost or doubled across the scale events. Plus the lag monitor on its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from sqlalchemy import Engine, text

from flashsale.autoscale.status import lag_key, workers_key
from flashsale.lag import LagMonitor, group_lag
from flashsale.settings import InfraSettings
from inventory_consumer.settings import InventoryConsumerSettings
from tests.fulfilment_helpers import create_sale, inventory_settings, placed, produce_orders
from tests.kafka_helpers import create_topic
from tests.net import free_port
from tests.polling import eventually
from tests.random_refs import random_group, random_topic

pytestmark = pytest.mark.integration

ORDERS, STOCK, PARTITIONS = 3000, 3500, 3
ROOT = Path(__file__).resolve().parents[2]
# Small numbers, so that a backlog of a few thousand orders is "big": a worker writes at
# most 150 orders/s, the pool grows above 300 messages of lag and shrinks below 30.
POOL = {"MIN_WORKERS": "1", "MAX_WORKERS": "3", "SCALE_UP_LAG": "300", "SCALE_DOWN_LAG": "30",
        "COOLDOWN_S": "2", "POLL_S": "0.5", "STOP_GRACE_S": "20", "METRICS_HOST": "127.0.0.1"}  # fmt: skip
CONSUMER_FIELDS = ("kafka_bootstrap", "redis_url", "database_url", "orders_topic",
                   "order_events_topic", "dlq_topic", "inventory_group_id",
                   "batch_max_messages", "max_orders_per_second", "expiry_enabled")  # fmt: skip


def _env(settings: InventoryConsumerSettings, metrics_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASHSALE_")}
    env |= {f"FLASHSALE_{f.upper()}": str(getattr(settings, f)) for f in CONSUMER_FIELDS}
    env |= {f"FLASHSALE_POOL_{k}": v for k, v in POOL.items()}
    return env | {"FLASHSALE_POOL_METRICS_PORT": str(metrics_port)}


@contextmanager
def running_pool(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The pool in a session of its own: whatever happens, its workers die with it."""
    with log.open("ab") as out:
        pool = subprocess.Popen([sys.executable, "-m", "inventory_consumer.pool"], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    try:
        yield pool
    finally:
        if pool.poll() is None:
            pool.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                pool.wait(60)
        with suppress(ProcessLookupError):
            os.killpg(pool.pid, signal.SIGKILL)  # any worker left behind
        pool.wait(10)


def _workers(redis: Redis, group: str) -> int:
    value = redis.get(workers_key(group))
    return int(value) if value is not None else 0


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def test_the_pool_grows_on_a_backlog_drains_it_shrinks_and_writes_each_order_once(
    infra: InfraSettings, engine: Engine, redis_client: Redis, tmp_path: Path
) -> None:
    sale_id = create_sale(engine, infra, STOCK, "autoscale")
    orders = [placed(sale_id) for _ in range(ORDERS)]
    settings = inventory_settings(
        infra, PARTITIONS, batch_max_messages=50, max_orders_per_second=150
    )
    group, port, log = settings.inventory_group_id, free_port(), tmp_path / "pool.log"
    produce_orders(infra.kafka_bootstrap, settings.orders_topic, orders)
    count = "SELECT count(*) FROM orders WHERE sale_id = :s"
    seen: list[int] = []

    def workers() -> int:
        seen.append(_workers(redis_client, group))
        return seen[-1]

    with running_pool(_env(settings, port), log) as pool:
        eventually(lambda: workers() >= 2, 60, "the pool to grow above 1 worker")
        assert int(redis_client.get(lag_key(group)) or 0) > 0
        assert 0 < redis_client.ttl(lag_key(group)) <= 10
        eventually(lambda: _scalar(engine, count, sale_id) == ORDERS, 120, "every order")
        eventually(lambda: group_lag(infra.kafka_bootstrap, group, settings.orders_topic) == 0,
                   30, "the offsets committed")  # fmt: skip
        eventually(lambda: workers() == 1, 60, "the pool to shrink back to 1 worker")
        # The gauges are refreshed once per poll, and not while a scale-down waits for its
        # worker: wait for a scrape taken after the lag was read as drained.
        lag_series = ("flashsale_consumer_lag", (("group", group),))
        metrics = eventually(
            lambda: (m := _scrape(port)).get(lag_series) == 0 and m, 15, "a scrape at lag 0"
        )
        pool.send_signal(signal.SIGTERM)
        code = pool.wait(60)

    output = log.read_text()
    assert code == 0, output[-3000:]
    assert max(seen) <= PARTITIONS
    _assert_scaled_both_ways_gracefully(metrics, group, output)
    _assert_each_order_once(engine, settings, sale_id, {str(o.order_id) for o in orders})


def _assert_scaled_both_ways_gracefully(
    metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], group: str, output: str
) -> None:
    events = "flashsale_pool_scale_events_total"
    assert metrics[(events, (("direction", "up"), ("group", group)))] >= 1
    assert metrics[(events, (("direction", "down"), ("group", group)))] >= 1
    assert metrics[("flashsale_pool_workers", (("group", group),))] == 1
    assert metrics[("flashsale_consumer_lag", (("group", group),))] == 0
    # The workers' own counters, summed by the pool's listener (multiprocess mode).
    consumed = [
        v for (name, _), v in metrics.items() if name == "flashsale_consumed_messages_total"
    ]
    assert consumed == [] or sum(consumed) >= ORDERS
    # Every worker that was stopped finished its batch: none was killed, none died.
    assert "ignored SIGTERM" not in output and "died with exit code" not in output
    assert "stopped with exit code 0" in output


def _assert_each_order_once(
    engine: Engine, settings: InventoryConsumerSettings, sale_id: str, ids: set[str]
) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT order_id, status FROM orders WHERE sale_id = :s"), {"s": sale_id}
        ).all()
        created = conn.execute(
            text("SELECT key, count(*) FROM outbox WHERE topic = :t"
                 " AND event_type = 'OrderCreated' GROUP BY key"),
            {"t": settings.order_events_topic},
        ).all()  # fmt: skip
    assert len(rows) == len(ids) and {str(r.order_id) for r in rows} == ids
    assert {r.status for r in rows} == {"CREATED"}
    assert {k for k, _ in created} == ids and {n for _, n in created} == {1}
    stock = "SELECT remaining_stock FROM sales WHERE sale_id = :s"
    assert _scalar(engine, stock, sale_id) == STOCK - len(ids)


def _scalar(engine: Engine, sql: str, sale_id: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), {"s": sale_id}).scalar_one())


def test_the_lag_monitor_reads_each_partition_with_one_client(infra: InfraSettings) -> None:
    topic, group = random_topic("lag"), random_group("lag")
    create_topic(infra.kafka_bootstrap, topic, PARTITIONS)
    sale_id = "lag-monitor"
    produce_orders(infra.kafka_bootstrap, topic, [placed(sale_id) for _ in range(30)])
    with LagMonitor(infra.kafka_bootstrap, group, topic) as monitor:
        first, second = monitor.partitions(), monitor.partitions()
        assert [p.partition for p in first] == list(range(PARTITIONS))
        assert sum(p.lag for p in first) == monitor.total() == 30
        assert first == second  # nothing consumed: nothing moved
    assert group_lag(infra.kafka_bootstrap, group, topic) == 30
