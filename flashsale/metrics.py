"""The metrics seam. Services count through `Metrics`; `bootstrap()` wires Prometheus, tests
wire `RecordingMetrics` and read the numbers back.

Every name is a family of `flashsale/metric_catalog.py`, which gives its kind, help and
label names. Hot paths bind a family's labels once (`bind`, `Children`) and then only
call `.inc()` / `.observe()` / `.set()` on what they hold: no label lookup per request.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from typing import Any, ClassVar, Protocol

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client import Counter as PromCounter
from prometheus_client import Gauge as PromGauge
from prometheus_client import Histogram as PromHistogram
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from flashsale.metric_catalog import BUCKETS, CATALOG, Family, families_of
from flashsale.workers import MULTIPROCESS_DIR_ENV

__all__ = [
    "Children",
    "Instrument",
    "Metrics",
    "NullMetrics",
    "PrometheusMetrics",
    "RecordingMetrics",
    "bind",
    "exposition",
]

FAMILIES = {family.name: family for family in CATALOG}
# What each call may touch: a typo'd verb (observe on a counter) fails like a typo'd name.
_VERBS = {"inc": ("counter", "gauge"), "observe": ("histogram",), "set": ("gauge",)}


class Metrics(Protocol):
    def inc(self, name: str, value: float = 1.0, **labels: str) -> None: ...
    def observe(self, name: str, value: float, **labels: str) -> None: ...
    def set(self, name: str, value: float, **labels: str) -> None: ...


class Instrument(Protocol):
    """One family with its labels bound: a Prometheus child, or a stand-in of the same shape."""

    def inc(self, amount: float = 1.0) -> None: ...
    def observe(self, amount: float) -> None: ...
    def set(self, value: float) -> None: ...


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

    def gauge(self, name: str, **labels: str) -> float | None:
        return self.gauges.get((name, tuple(sorted(labels.items()))))


class PrometheusMetrics:
    """The catalog's families on a Prometheus registry. With `service`, every family of
    that service is registered now, so `/metrics` lists them (HELP, TYPE) before the
    first event; the others are registered on first use. A name the catalog lacks raises.

    The metrics live per registry, not per instance: two apps in one process (tests, a
    bench) share them instead of failing on a duplicate registration.
    """

    _shared: ClassVar[dict[tuple[int, str], Any]] = {}

    def __init__(self, registry: CollectorRegistry = REGISTRY, service: str | None = None) -> None:
        self._registry = registry
        if service is not None:
            families = families_of(service)
            if not families:
                raise KeyError(f"no family of {service!r} in flashsale/metric_catalog.py")
            for family in families:
                self.family(family.name)

    def family(self, name: str, verb: str | None = None) -> Any:
        """The registered collector of `name` (a Counter, Gauge or Histogram)."""
        family = FAMILIES.get(name)
        if family is None:
            raise KeyError(f"{name!r} is not a family of flashsale/metric_catalog.py")
        if verb is not None and family.kind not in _VERBS[verb]:
            raise TypeError(f"{name} is a {family.kind}: it has no {verb}()")
        key = (id(self._registry), name)
        metric = self._shared.get(key)
        if metric is None:
            metric = self._shared[key] = _collector(family, self._registry)
        return metric

    def child(self, name: str, verb: str | None = None, **labels: str) -> Any:
        metric = self.family(name, verb)
        return metric.labels(**labels) if labels else metric

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        self.child(name, "inc", **labels).inc(value)

    def observe(self, name: str, value: float, **labels: str) -> None:
        self.child(name, "observe", **labels).observe(value)

    def set(self, name: str, value: float, **labels: str) -> None:
        self.child(name, "set", **labels).set(value)


def _collector(family: Family, registry: CollectorRegistry) -> Any:
    labels = list(family.labels)
    if family.kind == "counter":
        return PromCounter(family.name, family.help, labels, registry=registry)
    if family.kind == "gauge":
        # Under several workers (flashsale/workers.py) a gauge reads the latest value any
        # worker set, not one series per pid; a single process ignores the mode.
        return PromGauge(
            family.name,
            family.help,
            labels,
            registry=registry,
            multiprocess_mode="livemostrecent",
        )
    buckets = BUCKETS.get(family.name, PromHistogram.DEFAULT_BUCKETS)
    return PromHistogram(family.name, family.help, labels, registry=registry, buckets=buckets)


class _Bound:
    """`bind` for any other `Metrics`: each call passes the bound name and labels on."""

    def __init__(self, metrics: Metrics, name: str, labels: dict[str, str]) -> None:
        self._metrics, self._name, self._labels = metrics, name, labels

    def inc(self, amount: float = 1.0) -> None:
        self._metrics.inc(self._name, amount, **self._labels)

    def observe(self, amount: float) -> None:
        self._metrics.observe(self._name, amount, **self._labels)

    def set(self, value: float) -> None:
        self._metrics.set(self._name, value, **self._labels)


def bind(metrics: Metrics, name: str, **labels: str) -> Instrument:
    """`name` with these labels, looked up once: hold it and call it on the hot path."""
    if isinstance(metrics, PrometheusMetrics):
        child: Instrument = metrics.child(name, **labels)
        return child
    if name not in FAMILIES:
        raise KeyError(f"{name!r} is not a family of flashsale/metric_catalog.py")
    return _Bound(metrics, name, labels)


class Children:
    """A family whose label values are known only at run time but bounded (the sales a
    process sees, the configured channels): each child is bound on first use and kept."""

    def __init__(self, metrics: Metrics, name: str) -> None:
        self._metrics = metrics
        self._name = name
        self._label_names = FAMILIES[name].labels
        self._bound: dict[tuple[str, ...], Instrument] = {}

    def of(self, *values: str) -> Instrument:
        """The child with these label values, in the catalog's order of label names."""
        child = self._bound.get(values)
        if child is None:
            labels = dict(zip(self._label_names, values, strict=True))
            child = self._bound[values] = bind(self._metrics, self._name, **labels)
        return child

    def forget(self, *values: str) -> None:
        """Drop a child (a pruned sale): a PrometheusMetrics series is removed too."""
        if self._bound.pop(values, None) is not None and isinstance(
            self._metrics, PrometheusMetrics
        ):
            self._metrics.family(self._name).remove(*values)


def exposition(registry: CollectorRegistry = REGISTRY, local: Iterable[Collector] = ()) -> bytes:
    """What /metrics answers. Under several workers (flashsale/workers.py set
    prometheus-client's multiprocess directory) it is every worker's figures summed, plus
    `local`: collectors that read this process's own state (a gateway's buckets)."""
    if os.environ.get(MULTIPROCESS_DIR_ENV) is None:
        return generate_latest(registry)
    summed = CollectorRegistry()
    MultiProcessCollector(summed)  # type: ignore[no-untyped-call]
    for collector in local:
        summed.register(collector)
    return generate_latest(summed)
