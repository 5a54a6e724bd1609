"""Bounded waits on the real broker: read back what landed on a topic."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, Message
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from tests.random_refs import random_group


def create_topic(bootstrap: str, name: str, partitions: int = 3) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=-1)])[
        name
    ].result(30)


def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list[Message]:
    """Read `topic` from the beginning until `expected` messages arrived or `timeout` passed,
    then read one more second, so that extra (duplicate) messages are seen too."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": random_group("reader"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    got: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for msg in consumer.consume(500, 0.5):
                if msg.error() is None:
                    got.append(msg)
            if len(got) >= expected:
                deadline = min(deadline, time.monotonic() + 1.0)
        return got
    finally:
        consumer.close()
