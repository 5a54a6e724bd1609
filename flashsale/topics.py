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


def topic_specs(settings: KafkaSettings) -> list[TopicSpec]:
    rf = settings.replication_factor
    return [
        TopicSpec(settings.orders_topic, settings.orders_partitions, rf, {}),
        TopicSpec(settings.order_events_topic, settings.order_events_partitions, rf, {}),
        # Poison messages wait here for a human: keep them longer than the live topics.
        TopicSpec(
            settings.dlq_topic, settings.dlq_partitions, rf, {"retention.ms": str(30 * 86_400_000)}
        ),
    ]
