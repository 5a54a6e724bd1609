"""How far a consumer group is behind on a topic, read from Kafka itself: the committed
offsets of the group against each partition's high watermark. The repair waits on it
(an order still in the lag is in neither Redis nor PostgreSQL's final count yet), the
checker reports it, and the autoscaler reads the same number through a `LagMonitor`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer, TopicPartition

from flashsale.kafka import Brokers, connection_config

__all__ = [
    "LagMonitor",
    "PartitionLag",
    "group_lag",
    "partition_lag",
    "total_lag",
    "wait_until_consumed",
]


@dataclass(frozen=True)
class PartitionLag:
    partition: int
    committed: int  # the next offset the group will read (the low watermark if none)
    high: int  # the offset the next produced message will get

    @property
    def lag(self) -> int:
        return max(0, self.high - self.committed)


def total_lag(lags: list[PartitionLag]) -> int:
    return sum(p.lag for p in lags)


class LagMonitor:
    """One group's lag on one topic, read as often as needed through ONE Kafka client: a
    poll every second does not open and close a connection each time. The probe never
    subscribes, so it never joins the group it reads (no rebalance of the real members)."""

    def __init__(self, bootstrap: Brokers, group_id: str, topic: str, timeout: float = 10.0):
        self.group_id, self.topic, self._timeout = group_id, topic, timeout
        self._probe = Consumer(
            {**connection_config(bootstrap), "group.id": group_id, "enable.auto.commit": False}
        )

    def partitions(self) -> list[PartitionLag]:
        """The lag of every partition of the topic, in partition order."""
        metadata = self._probe.list_topics(self.topic, timeout=self._timeout).topics[self.topic]
        wanted = [TopicPartition(self.topic, p) for p in sorted(metadata.partitions)]
        lags: list[PartitionLag] = []
        for tp in self._probe.committed(wanted, timeout=self._timeout):
            low, high = self._probe.get_watermark_offsets(tp, timeout=self._timeout)
            lags.append(PartitionLag(tp.partition, tp.offset if tp.offset >= 0 else low, high))
        return lags

    def total(self) -> int:
        return total_lag(self.partitions())

    def close(self) -> None:
        self._probe.close()

    def __enter__(self) -> LagMonitor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def partition_lag(
    bootstrap: Brokers, group_id: str, topic: str, timeout: float = 10.0
) -> list[PartitionLag]:
    """A one-off read (a client opened and closed for it); poll with a `LagMonitor`."""
    with LagMonitor(bootstrap, group_id, topic, timeout) as monitor:
        return monitor.partitions()


def group_lag(bootstrap: Brokers, group_id: str, topic: str, timeout: float = 10.0) -> int:
    """Messages on `topic` not yet committed by `group_id`: the number autoscaling reads."""
    return total_lag(partition_lag(bootstrap, group_id, topic, timeout))


def wait_until_consumed(
    bootstrap: Brokers,
    group_id: str,
    topic: str,
    timeout_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Wait until the group has committed past every message on `topic` NOW: later ones
    do not count. True when it has, False when `timeout_s` passed first."""
    with LagMonitor(bootstrap, group_id, topic) as monitor:
        targets = {p.partition: p.high for p in monitor.partitions()}
        deadline = time.monotonic() + timeout_s
        while True:
            current = monitor.partitions()
            if all(p.committed >= targets.get(p.partition, 0) for p in current):
                return True
            if time.monotonic() > deadline:
                return False
            sleep(0.5)
