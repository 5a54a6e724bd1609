"""Wires the inventory consumer: the one place adapters are chosen. Tests pass fakes."""

from __future__ import annotations

import threading
from contextlib import ExitStack
from dataclasses import dataclass

from confluent_kafka import Consumer, Producer
from sqlalchemy import Engine

from flashsale.consumer_loop import BatchLoop
from flashsale.db import make_engine
from flashsale.dlq import kafka_dead_letter_sink
from flashsale.kafka import consumer_config, producer_config
from flashsale.metrics import Metrics, NullMetrics
from flashsale.process import client_id as kafka_client_id
from inventory_consumer.adapters.redis_stock import RedisStock
from inventory_consumer.adapters.sql import SqlOrderStore
from inventory_consumer.handlers import InventoryBatchHandler, RetryPolicy
from inventory_consumer.ports import BatchStore, DeadLetterSink, StockDrift, StockReleases
from inventory_consumer.settings import InventoryConsumerSettings
from inventory_consumer.throttle import WriteThrottle
from inventory_consumer.workers.expiry import ExpiryWorker
from inventory_consumer.workers.periodic import PeriodicWorker
from inventory_consumer.workers.relay import OutboxRelay

__all__ = ["InventoryConsumer", "bootstrap"]


@dataclass
class InventoryConsumer:
    loop: BatchLoop
    workers: list[PeriodicWorker]
    stop: threading.Event
    resources: ExitStack  # closed last in, first out: producers, then Redis, then the engine

    def run(self) -> None:
        """Run until `stop` is set: the workers in threads, the poll loop in this one."""
        for worker in self.workers:
            worker.start()
        try:
            self.loop.run()
        finally:
            self.stop.set()
            for worker in self.workers:
                worker.join(timeout=15)
            self.resources.close()


def bootstrap(
    settings: InventoryConsumerSettings,
    stop: threading.Event | None = None,
    *,
    metrics: Metrics | None = None,
    store: BatchStore | None = None,
    dlq: DeadLetterSink | None = None,
    drift: StockDrift | None = None,
    releases: StockReleases | None = None,
) -> InventoryConsumer:
    """The consumer with the adapters given here, and the real ones (from `settings`) for
    every adapter left None."""
    stop = stop or threading.Event()
    client_id = kafka_client_id(settings.service_name)
    resources = ExitStack()
    engine = make_engine(settings.database_url)
    resources.callback(engine.dispose)
    if drift is None or releases is None:
        # One client for the handler (drift) and the relay (releases): its pool is thread-safe.
        redis_stock = RedisStock.from_url(settings.redis_url)
        resources.callback(redis_stock.close)
        drift, releases = drift or redis_stock, releases or redis_stock
    throttle = _throttle(settings)
    handler = InventoryBatchHandler(
        store=store or SqlOrderStore(engine, settings.order_events_topic, settings.order_ttl_s),
        dlq=dlq or _dead_letter_sink(settings, client_id, resources),
        metrics=metrics or NullMetrics(),
        stop=stop,
        policy=RetryPolicy(settings.max_attempts, settings.retry_base_s, settings.retry_cap_s),
        throttle=throttle,
        drift=drift,
    )
    loop = _batch_loop(settings, handler, throttle, client_id, stop)
    workers = _workers(settings, engine, releases, client_id, stop, resources)
    return InventoryConsumer(loop, workers, stop, resources)


def _dead_letter_sink(
    settings: InventoryConsumerSettings, client_id: str, resources: ExitStack
) -> DeadLetterSink:
    topic, group = settings.dlq_topic, settings.inventory_group_id
    return kafka_dead_letter_sink(settings, client_id, topic, group, resources)


def _throttle(settings: InventoryConsumerSettings) -> WriteThrottle | None:
    rate = settings.max_orders_per_second
    return WriteThrottle(rate) if rate else None


def _batch_loop(
    settings: InventoryConsumerSettings,
    handler: InventoryBatchHandler,
    throttle: WriteThrottle | None,
    client_id: str,
    stop: threading.Event,
) -> BatchLoop:
    batch_max = settings.batch_max_messages
    if throttle is not None:  # batches no larger than the burst keep the write rate smooth
        batch_max = max(1, min(batch_max, throttle.burst))
    consumer = Consumer(consumer_config(settings, settings.inventory_group_id, client_id))
    topics = [settings.orders_topic]
    return BatchLoop(
        consumer, topics, handler, lambda: batch_max, settings.batch_max_ms / 1000, stop
    )


def _workers(
    settings: InventoryConsumerSettings,
    engine: Engine,
    releases: StockReleases,
    client_id: str,
    stop: threading.Event,
    resources: ExitStack,
) -> list[PeriodicWorker]:
    workers: list[PeriodicWorker] = []
    if settings.relay_enabled:
        producer = Producer(producer_config(settings, f"{client_id}-relay"))
        resources.callback(producer.flush, 5)
        relay = OutboxRelay(
            engine, producer, settings.order_events_topic, releases, settings.relay_batch
        )
        workers.append(
            PeriodicWorker("outbox-relay", relay.relay_once, settings.relay_interval_s, stop)
        )
    if settings.expiry_enabled:
        expiry = ExpiryWorker(engine, settings.order_events_topic, settings.expiry_batch)
        workers.append(
            PeriodicWorker("expiry", expiry.expire_once, settings.expiry_interval_s, stop)
        )
    return workers
