"""The orders topic's offsets and the inventory group's, read from Kafka by
`flashsale.lag` (a blocking client: in a thread)."""

from __future__ import annotations

from functools import partial

from dashboard.adapters.threads import SharedThreadRead
from dashboard.sample import Offsets
from flashsale.lag import PartitionLag, partition_lag
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
        self._partitions = SharedThreadRead(
            partial(
                partition_lag, s.kafka_bootstrap, s.inventory_group_id, s.orders_topic, timeout_s
            )
        )

    async def read(self) -> Offsets:
        return offsets_of(await self._partitions())
