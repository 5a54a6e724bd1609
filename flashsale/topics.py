"""Topic names and their defaults, created idempotently by `flashsale init`.

The orders topic is keyed by user id: a user's OrderPlaced and OrderVoided share a
partition (so a void always follows the placement it voids), and one hot sale still
spreads over every partition instead of pinning one consumer.
"""

from __future__ import annotations

from dataclasses import dataclass

from flashsale.settings import KafkaSettings

__all__ = ["TopicSpec", "topic_specs"]


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int | None
    config: dict[str, str]


# The DLQ takes a little more than the live topics: any message they hold, plus the
# headers its dead letter adds (flashsale/dlq.py's producer allows as much).
LIVE_MAX_BYTES = {"max.message.bytes": str(2 * 1024 * 1024)}
DLQ_MAX_BYTES = {"max.message.bytes": str(2 * 1024 * 1024 + 64 * 1024)}


def topic_specs(settings: KafkaSettings) -> list[TopicSpec]:
    rf = settings.replication_factor
    # Poison messages wait on the DLQ for a human: keep them longer than the live topics.
    dlq_config = {"retention.ms": str(30 * 86_400_000), **DLQ_MAX_BYTES}
    return [
        TopicSpec(settings.orders_topic, settings.orders_partitions, rf, LIVE_MAX_BYTES),
        TopicSpec(
            settings.order_events_topic, settings.order_events_partitions, rf, LIVE_MAX_BYTES
        ),
        TopicSpec(settings.dlq_topic, settings.dlq_partitions, rf, dlq_config),
    ]
