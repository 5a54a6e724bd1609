"""The metrics seam. Services count through `Metrics`; `bootstrap()` wires Prometheus, tests
wire `RecordingMetrics` and read the numbers back.

Names follow Prometheus conventions (`flashsale_<thing>_total`, `_seconds`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar, Protocol

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client import Counter as PromCounter
from prometheus_client import Gauge as PromGauge
from prometheus_client import Histogram as PromHistogram

__all__ = ["Metrics", "NullMetrics", "PrometheusMetrics", "RecordingMetrics"]


class Metrics(Protocol):
    def inc(self, name: str, value: float = 1.0, **labels: str) -> None: ...
    def observe(self, name: str, value: float, **labels: str) -> None: ...
    def set(self, name: str, value: float, **labels: str) -> None: ...


class NullMetrics:
    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        pass

    def observe(self, name: str, value: float, **labels: str) -> None:
        pass

    def set(self, name: str, value: float, **labels: str) -> None:
        pass


class RecordingMetrics:
    """For tests: keeps every count, observation and gauge in plain dicts."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
        self.observations: dict[str, list[float]] = {}
        self.gauges: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        self.counts[(name, tuple(sorted(labels.items())))] += int(value)

    def observe(self, name: str, value: float, **labels: str) -> None:
        self.observations.setdefault(name, []).append(value)

    def set(self, name: str, value: float, **labels: str) -> None:
        self.gauges[(name, tuple(sorted(labels.items())))] = value

    def count(self, name: str, **labels: str) -> int:
        return self.counts[(name, tuple(sorted(labels.items())))]


class PrometheusMetrics:
    """Creates each Prometheus metric the first time its name is used.

    The metrics live per registry, not per instance: two apps in one process (tests, a
    bench) share them instead of failing on a duplicate registration.
    """

    _shared: ClassVar[dict[tuple[int, str], Any]] = {}

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self._registry = registry

    def _metric(self, kind: type[Any], name: str, labels: dict[str, str]) -> Any:
        key = (id(self._registry), name)
        metric = self._shared.get(key)
        if metric is None:
            metric = self._shared[key] = kind(name, name, list(labels), registry=self._registry)
        return metric.labels(**labels) if labels else metric

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        self._metric(PromCounter, name, labels).inc(value)

    def observe(self, name: str, value: float, **labels: str) -> None:
        self._metric(PromHistogram, name, labels).observe(value)

    def set(self, name: str, value: float, **labels: str) -> None:
        self._metric(PromGauge, name, labels).set(value)
