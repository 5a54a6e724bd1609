"""How far a consumer group is behind on a topic, read from Kafka itself: the committed
offsets of the group against each partition's high watermark. The repair waits on it
(an order still in the lag is in neither Redis nor PostgreSQL's final count yet), the
checker reports it, and the autoscaler reads the same number."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer, TopicPartition

__all__ = ["PartitionLag", "group_lag", "partition_lag", "wait_until_consumed"]


@dataclass(frozen=True)
class PartitionLag:
    partition: int
    committed: int  # the next offset the group will read (the low watermark if none)
    high: int  # the offset the next produced message will get

    @property
    def lag(self) -> int:
        return max(0, self.high - self.committed)


def partition_lag(
    bootstrap: str, group_id: str, topic: str, timeout: float = 10.0
) -> list[PartitionLag]:
    probe = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False}
    )
    try:
        metadata = probe.list_topics(topic, timeout=timeout).topics[topic]
        partitions = [TopicPartition(topic, p) for p in sorted(metadata.partitions)]
        lags: list[PartitionLag] = []
        for tp in probe.committed(partitions, timeout=timeout):
            low, high = probe.get_watermark_offsets(tp, timeout=timeout)
            lags.append(PartitionLag(tp.partition, tp.offset if tp.offset >= 0 else low, high))
        return lags
    finally:
        probe.close()


def group_lag(bootstrap: str, group_id: str, topic: str, timeout: float = 10.0) -> int:
    """Messages on `topic` not yet committed by `group_id`: the number autoscaling reads."""
    return sum(p.lag for p in partition_lag(bootstrap, group_id, topic, timeout))


def wait_until_consumed(
    bootstrap: str,
    group_id: str,
    topic: str,
    timeout_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Wait until the group has committed past every message on `topic` NOW: later ones
    do not count. True when it has, False when `timeout_s` passed first."""
    targets = {p.partition: p.high for p in partition_lag(bootstrap, group_id, topic)}
    deadline = time.monotonic() + timeout_s
    while True:
        current = partition_lag(bootstrap, group_id, topic)
        if all(p.committed >= targets.get(p.partition, 0) for p in current):
            return True
        if time.monotonic() > deadline:
            return False
        sleep(0.5)
