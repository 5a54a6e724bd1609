"""The orders topic's offsets and the inventory group's, read from Kafka by one
`flashsale.lag.LagMonitor` (a blocking client, kept open: in a thread)."""

from __future__ import annotations

from dashboard.adapters.threads import SharedThreadRead
from dashboard.sample import Offsets
from flashsale.lag import LagMonitor, PartitionLag
from flashsale.settings import KafkaSettings

__all__ = ["KafkaTopicOffsets", "offsets_of"]


def offsets_of(partitions: list[PartitionLag]) -> Offsets:
    return Offsets(
        produced=sum(p.high for p in partitions),
        consumed=sum(p.committed for p in partitions),
        lag=sum(p.lag for p in partitions),
    )


class KafkaTopicOffsets:
    def __init__(self, settings: KafkaSettings, timeout_s: float) -> None:
        s = settings
        self._monitor = LagMonitor(s, s.inventory_group_id, s.orders_topic, timeout_s)
        self._partitions = SharedThreadRead(self._monitor.partitions)

    async def read(self) -> Offsets:
        return offsets_of(await self._partitions())

    def close(self) -> None:
        self._monitor.close()
