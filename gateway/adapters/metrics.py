"""The gateway's Prometheus families, as flashsale/metric_catalog.py declares them.

The outcome counter's children, one per outcome, are bound once here: a request pays one
`inc()`, never a `labels()` lookup. The gauges cost nothing per request: a collector
reads the bucket and the backpressure state when /metrics is scraped. Each instance owns
its registry (with the process, platform and GC collectors), so two gateways in one
process (the tests) do not collide, and /metrics shows this gateway's numbers only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily

from flashsale.metric_catalog import CATALOG, Family
from flashsale.metrics import exposition
from gateway.ports import GaugeReading, Outcomes

__all__ = ["PrometheusMetrics", "family"]

REQUESTS = "flashsale_gateway_requests_total"
TOKENS = "flashsale_gateway_bucket_tokens"
RATE = "flashsale_gateway_global_rate"
BACKPRESSURE = "flashsale_gateway_backpressure"


def family(name: str) -> Family:
    """The catalog's declaration of a family: nothing is exported that is not there."""
    return next(f for f in CATALOG if f.name == name)


class PrometheusMetrics:
    """gateway.ports.Metrics on a registry of its own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or process_registry()
        requests = family(REQUESTS)
        counter = Counter(requests.name, requests.help, requests.labels, registry=self.registry)
        # Every outcome is listed (at 0) from the start, before the first request.
        children = {field.name: counter.labels(field.name) for field in fields(Outcomes)}
        self._outcomes = Outcomes(**children)
        self._read: Callable[[], GaugeReading] | None = None
        self._gauges = _Gauges(self)
        self.registry.register(self._gauges)

    @property
    def outcomes(self) -> Outcomes:
        return self._outcomes

    def read_gauges_with(self, read: Callable[[], GaugeReading]) -> None:
        self._read = read

    def reading(self) -> GaugeReading | None:
        return self._read() if self._read is not None else None

    def exposition(self) -> tuple[bytes, str]:
        # Several workers: their counters summed, this worker's own bucket gauges.
        return exposition(self.registry, local=[self._gauges]), CONTENT_TYPE_LATEST


def process_registry() -> CollectorRegistry:
    """A registry with what the default one holds: the process's CPU, memory and GC."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


class _Gauges:
    """The three gauges, read at scrape time from what `read_gauges_with` was given."""

    def __init__(self, metrics: PrometheusMetrics) -> None:
        self._metrics = metrics

    def describe(self) -> Iterator[GaugeMetricFamily]:
        for name in (TOKENS, RATE, BACKPRESSURE):
            yield GaugeMetricFamily(name, family(name).help)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        reading = self._metrics.reading()
        if reading is None:
            return
        values = (reading.bucket_tokens, reading.global_rate, float(reading.backpressure))
        for name, value in zip((TOKENS, RATE, BACKPRESSURE), values, strict=True):
            yield GaugeMetricFamily(name, family(name).help, value=value)
