"""The queue, watched: the inventory group's lag on the orders topic, read from Kafka
(`flashsale.lag.group_lag`) every few hundred ms while the burst fills it and the write
cap drains it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from types import TracebackType

from confluent_kafka import KafkaException

from flashsale.lag import group_lag
from flashsale.settings import KafkaSettings

__all__ = ["LagSampler", "inventory_lag"]


def inventory_lag(settings: KafkaSettings, timeout_s: float = 2.0) -> Callable[[], int]:
    """The inventory consumers' lag, as the autoscaler reads it."""
    return partial(
        group_lag,
        settings.kafka_bootstrap,
        settings.inventory_group_id,
        settings.orders_topic,
        timeout_s,
    )


class LagSampler:
    """Samples in a thread of its own (a read is a blocking Kafka round trip), from
    `with` until the block ends. `peak` is the largest lag seen, `last` the latest."""

    def __init__(
        self,
        read: Callable[[], int],
        on_sample: Callable[[int], None] = lambda _: None,
        every_s: float = 0.3,
    ) -> None:
        self.peak = 0
        self.last: int | None = None
        self.samples = 0
        self._read = read
        self._on_sample = on_sample
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-lag-sampler", daemon=True)

    def __enter__(self) -> LagSampler:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def sample(self) -> None:
        try:
            lag = self._read()
        except KafkaException:
            return  # a slow or failed read is one sample missed; the next one counts
        self.peak, self.last = max(self.peak, lag), lag
        self.samples += 1
        self._on_sample(lag)

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self._every_s):
                return
