"""`flashsale dlq replay`: send dead-lettered messages back to the topic they came from,
after the fix that makes them processable.

Its own consumer group remembers how far it got: offsets are committed synchronously,
and only after the broker acknowledged the re-driven messages, so a crashed replay
repeats a few messages (the consumers are idempotent) and never skips one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer

from flashsale.consumer_loop import offsets_to_store
from flashsale.dlq import H_SOURCE_TOPIC, header
from flashsale.kafka import consumer_config, producer_config
from flashsale.settings import KafkaSettings

__all__ = ["ReplayReport", "replay_dlq"]

H_REPLAY_OF = "flashsale.replay_of"


@dataclass
class ReplayReport:
    replayed: dict[str, int] = field(default_factory=dict)  # source topic -> count
    skipped: int = 0  # no source-topic header: not ours to re-drive

    @property
    def total(self) -> int:
        return sum(self.replayed.values())


def replay_dlq(
    settings: KafkaSettings, group_id: str, max_messages: int, timeout_s: float
) -> ReplayReport:
    # No auto-commit: an offset is committed only after its message was re-driven.
    config = consumer_config(settings, group_id, "flashsale-dlq-replay")
    consumer = Consumer({**config, "enable.auto.commit": False})
    producer = Producer(producer_config(settings, "flashsale-dlq-replay"))
    report = ReplayReport()
    deadline = time.monotonic() + timeout_s
    idle_polls = 0
    try:
        consumer.subscribe([settings.dlq_topic])
        while report.total + report.skipped < max_messages and time.monotonic() < deadline:
            want = min(100, max_messages - report.total - report.skipped)
            batch = [m for m in consumer.consume(want, 1.0) if m.error() is None]
            if not batch:
                idle_polls += 1
                if idle_polls >= 3 and consumer.assignment():
                    break  # caught up with the DLQ
                continue
            idle_polls = 0
            _redrive(producer, batch, report)
            consumer.commit(offsets=offsets_to_store(batch), asynchronous=False)
    finally:
        consumer.close()
    return report


def _redrive(producer: Producer, batch: list[Message], report: ReplayReport) -> None:
    errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: Any) -> None:
        if err is not None:
            errors.append(err)

    for msg in batch:
        target = header(msg, H_SOURCE_TOPIC)
        if target is None:
            report.skipped += 1
            continue
        origin = f"{msg.topic()}:{msg.partition()}:{msg.offset()}"
        headers: list[tuple[str, str | bytes | None]] = [(H_REPLAY_OF, origin)]
        producer.produce(target, msg.value(), msg.key(), headers=headers, on_delivery=on_delivery)
        report.replayed[target] = report.replayed.get(target, 0) + 1
    if producer.flush(30) or errors:
        raise RuntimeError(f"re-drive not acknowledged, nothing committed: {errors[:3]}")
