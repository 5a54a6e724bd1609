"""The Kafka adapter: OrderPlaced and OrderVoided onto the orders topic, keyed by user id
(see redelivery.py for why the key matters). Every produce is counted (acked or failed)
and its time to the broker's acknowledgement observed: re-publications by recovery too."""

from __future__ import annotations

import time

from flashsale.async_producer import AsyncProducer
from flashsale.metrics import Metrics, NullMetrics, bind

__all__ = ["KafkaOrderPublisher"]


class KafkaOrderPublisher:
    def __init__(self, producer: AsyncProducer, topic: str, metrics: Metrics | None = None) -> None:
        self._producer = producer
        self._topic = topic
        metrics = metrics or NullMetrics()
        self._acked = bind(metrics, "flashsale_orders_produced_total", result="acked")
        self._failed = bind(metrics, "flashsale_orders_produced_total", result="failed")
        self._seconds = bind(metrics, "flashsale_produce_seconds")

    async def publish(self, key: str, payload: bytes) -> None:
        started = time.perf_counter()
        try:
            await self._producer.produce(self._topic, key, payload)
        except Exception:  # DeliveryFailed: the broker did not acknowledge it
            self._failed.inc()
            raise
        self._seconds.observe(time.perf_counter() - started)
        self._acked.inc()

    @property
    def healthy(self) -> bool:
        return self._producer.healthy

    def close(self, timeout: float) -> int:
        return self._producer.close(timeout)
