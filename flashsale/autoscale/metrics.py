"""The pool's Prometheus families (declared in `flashsale.metric_catalog`, service "pool"),
registered at start so /metrics lists them before the first scale event, and the listener
that serves them together with the workers' own metrics (multiprocess mode, summed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

from flashsale.lag import PartitionLag, total_lag
from flashsale.metric_catalog import Family, families_of

__all__ = ["PrometheusPoolGauges", "register_families", "serve_pool_metrics"]

_KINDS: dict[str, Any] = {"counter": Counter, "gauge": Gauge, "histogram": Histogram}


def register_families(families: tuple[Family, ...], registry: CollectorRegistry) -> dict[str, Any]:
    """One prometheus_client metric per catalog family, by name (counters without `_total`:
    prometheus_client adds it)."""
    return {
        f.name: _KINDS[f.kind](
            f.name.removesuffix("_total") if f.kind == "counter" else f.name,
            f.help,
            list(f.labels),
            registry=registry,
        )
        for f in families
    }


class PrometheusPoolGauges:
    """The pool's figures for one consumer group."""

    def __init__(self, group: str, registry: CollectorRegistry) -> None:
        self._group = group
        self._metrics = register_families(families_of("pool"), registry)
        for direction in ("up", "down"):  # listed at 0 before the first event
            self._metrics["flashsale_pool_scale_events_total"].labels(group, direction)

    def lag(self, partitions: list[PartitionLag]) -> None:
        self._metrics["flashsale_consumer_lag"].labels(self._group).set(total_lag(partitions))
        per_partition = self._metrics["flashsale_consumer_lag_partition"]
        for p in partitions:
            per_partition.labels(self._group, str(p.partition)).set(p.lag)

    def workers(self, count: int) -> None:
        self._metrics["flashsale_pool_workers"].labels(self._group).set(count)

    def scaled(self, direction: str) -> None:
        self._metrics["flashsale_pool_scale_events_total"].labels(self._group, direction).inc()


def serve_pool_metrics(
    registry: CollectorRegistry, workers_dir: Path, port: int | None, host: str
) -> None:
    """/metrics on host:port: the pool's registry plus every worker's metrics, read from
    `workers_dir` at each scrape (None: no listener)."""
    MultiProcessCollector(registry, path=str(workers_dir))  # type: ignore[no-untyped-call]
    if port is not None:
        start_http_server(port, addr=host, registry=registry)
