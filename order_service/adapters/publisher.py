"""The Kafka adapter: OrderPlaced and OrderVoided onto the orders topic, keyed by user id
(see redelivery.py for why the key matters)."""

from __future__ import annotations

from flashsale.async_producer import AsyncProducer

__all__ = ["KafkaOrderPublisher"]


class KafkaOrderPublisher:
    def __init__(self, producer: AsyncProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def publish(self, key: str, payload: bytes) -> None:
        await self._producer.produce(self._topic, key, payload)

    @property
    def healthy(self) -> bool:
        return self._producer.healthy

    def close(self, timeout: float) -> int:
        return self._producer.close(timeout)
