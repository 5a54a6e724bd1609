"""Claims 3 and 4: the database held at its cap, and the peak-shaving arithmetic.

A real inventory consumer (bootstrap(), relay and expiry off) runs with
FLASHSALE_MAX_ORDERS_PER_SECOND = C. Admitted orders (OrderPlaced) are offered to its topic
at R = 10·C per second for D seconds, paced by the producer. Meanwhile one thread samples
every 250 ms, from the stores themselves: the sale's units sold in PostgreSQL, one per
order written in the same transaction (the insert rate is the growth over each 1-second
window) and the group's lag in Kafka. Reported:

3. the peak insert rate against C (goal: <= C + 10%);
4. the peak lag and the drain time (end of the offer -> last row written) against the
   article's formulas, peak ≈ (R - C)·D and drain ≈ peak / C, as relative errors.

The consumer writes in batches of C/20 so that one batch is a small step of a second's
writes: the throttle admits a batch at a time, and a batch of 500 at C = 400 would show
up as lumps of 0 or 500 per second, though the long-run rate is exactly C.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Producer
from sqlalchemy import Engine

from flashsale.contracts import OrderPlaced, encode
from flashsale.db import make_engine
from flashsale.kafka import producer_config
from flashsale.lag import LagMonitor
from flashsale.settings import InfraSettings
from inventory_consumer.bootstrap import bootstrap
from inventory_consumer.settings import InventoryConsumerSettings
from loadtests.bench_results import result
from loadtests.bench_scratch import count_orders, scratch, suffix

__all__ = ["run"]

CAP, BURST, SECONDS = 400, 10, 3.0
OFFERED = CAP * BURST
CAP_ROW = "write cap C (FLASHSALE_MAX_ORDERS_PER_SECOND)"


@dataclass
class Samples:
    """(monotonic time, rows of the sale, group lag), every `every_s`, in a thread."""

    read_rows: Any
    read_lag: Any
    every_s: float = 0.25
    points: list[tuple[float, int, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Samples:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.points.append((time.monotonic(), self.read_rows(), self.read_lag()))

    def peak_rate(self, window_s: float = 1.0) -> float:
        """The largest growth of the rows over any window of >= `window_s`, per second."""
        peak, k = 0.0, 0
        for t, rows, _ in self.points:
            while k < len(self.points) and self.points[k][0] - t < window_s:
                k += 1
            if k == len(self.points):
                break
            t2, rows2, _ = self.points[k]
            peak = max(peak, (rows2 - rows) / (t2 - t))
        return peak


def _settings(infra: InfraSettings) -> InventoryConsumerSettings:
    run_id = suffix()
    return InventoryConsumerSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        database_url=infra.database_url,
        redis_url=infra.redis_url,
        orders_topic=f"bench.cap.{run_id}",
        order_events_topic=f"bench.cap-events.{run_id}",
        inventory_group_id=f"bench-cap-{run_id}",
        batch_max_messages=CAP // 20,
        max_orders_per_second=CAP,
        relay_enabled=False,
        expiry_enabled=False,
        order_ttl_s=30 * 86_400,  # never swept by a real expiry worker sharing the DB
    )


def _produce(producer: Producer, topic: str, sale_id: str, user: str) -> None:
    order = OrderPlaced(
        order_id=uuid.uuid4(),
        sale_id=sale_id,
        user_id=user,
        quantity=1,
        placed_at=datetime.now(UTC),
    )
    while True:
        try:
            return producer.produce(topic, encode(order), order.user_id)
        except BufferError:
            producer.poll(0.01)


def _offer(producer: Producer, topic: str, sale_id: str) -> float:
    """OFFERED orders/s for SECONDS, paced every 10 ms; returns when the last is acked."""
    started, sent, total = time.monotonic(), 0, int(OFFERED * SECONDS)
    while sent < total:
        due = min(total, int(OFFERED * (time.monotonic() - started)) + 1)
        for _ in range(due - sent):
            _produce(producer, topic, sale_id, f"cap-{sent}")
            sent += 1
        producer.poll(0)
        time.sleep(0.01)
    producer.flush(30)
    return time.monotonic()


def _wait_rows(engine: Engine, sale_id: str, n: int, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while count_orders(engine, sale_id) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"cap bench: fewer than {n} orders after {timeout_s:.0f} s")
        time.sleep(0.05)
    return time.monotonic()


def run(infra: InfraSettings) -> list[dict[str, Any]]:
    engine, settings = make_engine(infra.database_url), _settings(infra)
    total = int(OFFERED * SECONDS)
    try:
        with scratch(infra, engine, settings, total + 1) as sale_id:
            return _measure(engine, settings, sale_id, total)
    finally:
        engine.dispose()


def _measure(
    engine: Engine, settings: InventoryConsumerSettings, sale_id: str, total: int
) -> list[dict[str, Any]]:
    """The capped consumer drains a warm-up order, then the offer at R for D seconds."""
    topic = settings.orders_topic
    producer = Producer(producer_config(settings.kafka_bootstrap, "bench-cap", **{"linger.ms": 5}))
    stop = threading.Event()
    worker = threading.Thread(target=bootstrap(settings, stop).run, daemon=True)
    worker.start()
    monitor = LagMonitor(settings.kafka_bootstrap, settings.inventory_group_id, topic)
    try:
        _produce(producer, topic, sale_id, "cap-warm")  # the group has joined once it is in
        producer.flush(30)
        _wait_rows(engine, sale_id, 1, 60)
        with Samples(lambda: count_orders(engine, sale_id), monitor.total) as samples:
            offer_end = _offer(producer, topic, sale_id)
            drained = _wait_rows(engine, sale_id, total + 1, 120 + total / CAP)
        return _rows(samples, drained - offer_end)
    finally:
        stop.set()
        worker.join(30)
        monitor.close()


def _rows(samples: Samples, drain_s: float) -> list[dict[str, Any]]:
    peak_rate = samples.peak_rate()
    peak_lag = max(lag for _, _, lag in samples.points)
    want_lag = (OFFERED - CAP) * SECONDS
    want_drain = want_lag / CAP
    load = {"cap": CAP, "offered_rps": OFFERED, "seconds": SECONDS}
    return [
        result(CAP_ROW, CAP, ratio=1.0, baseline=CAP_ROW, **load),
        result(
            "peak DB insert rate, 1 s windows (PostgreSQL)",
            peak_rate,
            ratio=peak_rate / CAP,
            baseline=CAP_ROW,
            peak=peak_rate,
            goal="<= C + 10%",
            **load,
        ),
        result(
            "peak Kafka lag vs (R - C)·D",
            None,
            ratio=peak_lag / want_lag,
            baseline="(R - C)·D",
            ratio_of="measured/predicted",
            peak=peak_lag,
            predicted=want_lag,
            relative_error=peak_lag / want_lag - 1,
            **load,
        ),
        result(
            "drain time vs peak / C",
            None,
            ratio=drain_s / want_drain,
            baseline="(R - C)·D / C",
            ratio_of="measured/predicted",
            seconds_measured=drain_s,
            predicted=want_drain,
            relative_error=drain_s / want_drain - 1,
            **load,
        ),
    ]
