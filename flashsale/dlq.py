"""The dead-letter queue: one topic for every message a consumer cannot process.

A dead-lettered message keeps its key and value byte for byte, and gains headers that say
why and where it came from, so `flashsale dlq replay` can send it back after a fix.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Protocol

from confluent_kafka import KafkaError, Message, Producer

from flashsale.kafka import Brokers, producer_config

__all__ = [
    "H_ERROR",
    "H_SOURCE_OFFSET",
    "H_SOURCE_PARTITION",
    "H_SOURCE_TOPIC",
    "DeadLetter",
    "DeadLetterFailed",
    "DeadLetterSink",
    "KafkaDeadLetterSink",
    "dead_letter_from",
    "header",
    "kafka_dead_letter_sink",
]

# Room for the largest message the live topics take (topics.py: 2 MiB) plus the headers a
# dead letter adds; the DLQ topic's max.message.bytes is the same.
DLQ_MAX_MESSAGE_BYTES = 2 * 1024 * 1024 + 64 * 1024

H_ERROR = "flashsale.error"
H_ERROR_TYPE = "flashsale.error_type"
H_SOURCE_TOPIC = "flashsale.source_topic"
H_SOURCE_PARTITION = "flashsale.source_partition"
H_SOURCE_OFFSET = "flashsale.source_offset"
H_FAILED_AT = "flashsale.failed_at_ms"
H_CONSUMER = "flashsale.consumer"


@dataclass(frozen=True)
class DeadLetter:
    key: bytes | None
    value: bytes | None
    source_topic: str
    source_partition: int
    source_offset: int
    error: str
    error_type: str

    def headers(self, consumer: str) -> list[tuple[str, str | bytes | None]]:
        return [
            (H_ERROR, self.error[:2000].encode()),
            (H_ERROR_TYPE, self.error_type.encode()),
            (H_SOURCE_TOPIC, self.source_topic.encode()),
            (H_SOURCE_PARTITION, str(self.source_partition).encode()),
            (H_SOURCE_OFFSET, str(self.source_offset).encode()),
            (H_FAILED_AT, str(int(time.time() * 1000)).encode()),
            (H_CONSUMER, consumer.encode()),
        ]


def dead_letter_from(msg: Message, exc: BaseException) -> DeadLetter:
    return DeadLetter(
        key=msg.key(),
        value=msg.value(),
        source_topic=msg.topic() or "",
        source_partition=msg.partition() or 0,
        source_offset=msg.offset() or 0,
        error=str(exc) or type(exc).__name__,
        error_type=type(exc).__name__,
    )


def header(msg: Message, name: str) -> str | None:
    headers = msg.headers() or []
    pairs = headers.items() if isinstance(headers, dict) else headers
    for key, value in pairs:
        if key == name and value is not None:
            return value if isinstance(value, str) else value.decode()
    return None


class DeadLetterFailed(Exception):
    """The DLQ did not acknowledge: the message must not be skipped, so the batch retries."""


class DeadLetterSink(Protocol):
    def send(self, letter: DeadLetter) -> None: ...


class KafkaDeadLetterSink:
    """Produces to the DLQ and waits for the broker's ack: only then may the offset move on."""

    def __init__(
        self, producer: Producer, topic: str, consumer: str, timeout_s: float = 10.0
    ) -> None:
        self._producer = producer
        self._topic = topic
        self._consumer = consumer
        self._timeout_s = timeout_s

    def send(self, letter: DeadLetter) -> None:
        outcome: list[KafkaError | None] = []

        def on_delivery(err: KafkaError | None, _msg: Any) -> None:
            outcome.append(err)

        try:
            self._producer.produce(
                self._topic,
                letter.value,
                letter.key,
                headers=letter.headers(self._consumer),
                on_delivery=on_delivery,
            )
        except BufferError as exc:
            # The local queue is full: serve delivery reports so it drains, and let the
            # caller retry this letter instead of dropping it.
            self._producer.poll(min(1.0, self._timeout_s))
            raise DeadLetterFailed(f"producer queue full: {exc}") from exc
        self._producer.flush(self._timeout_s)
        if not outcome or outcome[0] is not None:
            raise DeadLetterFailed(str(outcome[0] if outcome else "no delivery report"))


def kafka_dead_letter_sink(
    bootstrap: Brokers, client_id: str, topic: str, group_id: str, resources: ExitStack
) -> KafkaDeadLetterSink:
    """A consumer's DLQ sink on a producer of its own, flushed when `resources` close."""
    # A dead letter is its message plus headers: the producer must take the largest one a
    # source topic holds, or a ~1 MB poison message is never dead-lettered and its
    # partition stops for ever (tests/abuse/test_poison.py).
    big = {"message.max.bytes": DLQ_MAX_MESSAGE_BYTES}
    producer = Producer(producer_config(bootstrap, f"{client_id}-dlq", **big))
    resources.callback(producer.flush, 5)
    return KafkaDeadLetterSink(producer, topic, group_id)
