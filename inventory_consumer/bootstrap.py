"""Wires the inventory consumer: the one place adapters are chosen. Tests pass fakes."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import Consumer, Producer
from sqlalchemy import Engine

from flashsale.consumer_loop import BatchLoop
from flashsale.db import make_engine
from flashsale.dlq import DeadLetterSink, KafkaDeadLetterSink
from flashsale.kafka import consumer_config, producer_config
from flashsale.metrics import Metrics, NullMetrics
from inventory_consumer.batch import InventoryBatchHandler, RetryPolicy
from inventory_consumer.expiry import ExpiryWorker
from inventory_consumer.redis_stock import RedisStock
from inventory_consumer.relay import OutboxRelay
from inventory_consumer.settings import InventoryConsumerSettings
from inventory_consumer.store import OrderStore, SqlOrderStore
from inventory_consumer.throttle import WriteThrottle
from inventory_consumer.workers import PeriodicWorker

__all__ = ["InventoryConsumer", "bootstrap"]


@dataclass
class InventoryConsumer:
    loop: BatchLoop
    workers: list[PeriodicWorker]
    stop: threading.Event
    engine: Engine
    producers: list[Producer] = field(default_factory=list)
    closers: list[Callable[[], None]] = field(default_factory=list)

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
            for producer in self.producers:
                producer.flush(5)
            for close in self.closers:
                close()
            self.engine.dispose()


def _client_id(settings: InventoryConsumerSettings) -> str:
    return f"{settings.service_name}-{socket.gethostname()}-{os.getpid()}"


def bootstrap(
    settings: InventoryConsumerSettings,
    stop: threading.Event | None = None,
    *,
    metrics: Metrics | None = None,
    store: OrderStore | None = None,
    dlq: DeadLetterSink | None = None,
    redis_stock: RedisStock | None = None,
) -> InventoryConsumer:
    stop = stop or threading.Event()
    metrics = metrics or NullMetrics()
    client_id = _client_id(settings)
    engine = make_engine(settings.database_url)
    # One client for the handler (drift) and the relay (releases): its pool is thread-safe.
    redis_stock = redis_stock or RedisStock.from_url(settings.redis_url)
    dlq_producer = Producer(producer_config(settings.kafka_bootstrap, f"{client_id}-dlq"))
    throttle = (
        WriteThrottle(settings.max_orders_per_second) if settings.max_orders_per_second else None
    )
    handler = InventoryBatchHandler(
        store=store or SqlOrderStore(engine, settings.order_events_topic, settings.order_ttl_s),
        dlq=dlq
        or KafkaDeadLetterSink(dlq_producer, settings.dlq_topic, settings.inventory_group_id),
        metrics=metrics,
        stop=stop,
        policy=RetryPolicy(settings.max_attempts, settings.retry_base_s, settings.retry_cap_s),
        throttle=throttle,
        drift=redis_stock,
    )
    batch_max = settings.batch_max_messages
    if throttle is not None:  # batches no larger than the burst keep the write rate smooth
        batch_max = max(1, min(batch_max, throttle.burst))
    consumer = Consumer(
        consumer_config(settings.kafka_bootstrap, settings.inventory_group_id, client_id)
    )
    loop = BatchLoop(
        consumer,
        [settings.orders_topic],
        handler,
        lambda: batch_max,
        settings.batch_max_ms / 1000,
        stop,
    )
    app = InventoryConsumer(loop, [], stop, engine, [dlq_producer], [redis_stock.close])
    if settings.relay_enabled:
        app.workers.append(_relay_worker(settings, engine, stop, client_id, app, redis_stock))
    if settings.expiry_enabled:
        expiry = ExpiryWorker(engine, settings.order_events_topic, settings.expiry_batch)
        app.workers.append(
            PeriodicWorker("expiry", expiry.expire_once, settings.expiry_interval_s, stop)
        )
    return app


def _relay_worker(
    settings: InventoryConsumerSettings,
    engine: Engine,
    stop: threading.Event,
    client_id: str,
    app: InventoryConsumer,
    redis_stock: RedisStock,
) -> PeriodicWorker:
    producer = Producer(producer_config(settings.kafka_bootstrap, f"{client_id}-relay"))
    app.producers.append(producer)
    relay = OutboxRelay(
        engine, producer, settings.order_events_topic, redis_stock, settings.relay_batch
    )
    return PeriodicWorker("outbox-relay", relay.relay_once, settings.relay_interval_s, stop)
