"""Wires a pool for one consumer: the one place its adapters are chosen. Tests pass fakes."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry

from flashsale.autoscale.metrics import PrometheusPoolGauges, serve_pool_metrics
from flashsale.autoscale.policy import ScalingPolicy
from flashsale.autoscale.ports import LagReader, Launcher, PoolGauges, PoolStatus
from flashsale.autoscale.settings import PoolSettings
from flashsale.autoscale.status import RedisPoolStatus
from flashsale.autoscale.supervisor import Supervisor
from flashsale.autoscale.workers import ProcessLauncher
from flashsale.kafka import Brokers
from flashsale.lag import LagMonitor

__all__ = ["Pool", "PoolTarget", "bootstrap_pool"]


@dataclass(frozen=True)
class PoolTarget:
    """The consumer a pool runs: the command of one worker, and where its lag is read."""

    argv: tuple[str, ...]  # e.g. (sys.executable, "-m", "inventory_consumer")
    kafka: Brokers  # where the lag is read: the bootstrap, or the settings (with SASL)
    group_id: str
    topic: str
    redis_url: str
    # Variables the workers must not inherit from the supervisor (their own metrics port:
    # the supervisor's listener serves their metrics).
    drop_env: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass
class Pool:
    supervisor: Supervisor
    resources: ExitStack  # the lag client, Redis, the workers' metrics directory

    def run(self) -> None:
        with self.resources:
            self.supervisor.run()


def bootstrap_pool(
    settings: PoolSettings,
    target: PoolTarget,
    stop: threading.Event | None = None,
    *,
    lag: LagReader | None = None,
    status: PoolStatus | None = None,
    gauges: PoolGauges | None = None,
    launcher: Launcher | None = None,
) -> Pool:
    """The pool with the adapters given here, and the real ones for every one left None."""
    resources = ExitStack()
    if lag is None:
        monitor = LagMonitor(target.kafka, target.group_id, target.topic)
        resources.callback(monitor.close)
        lag = monitor
    if status is None:
        redis_status = RedisPoolStatus.from_url(target.redis_url, target.group_id)
        resources.callback(redis_status.close)
        status = redis_status
    if gauges is None or launcher is None:
        gauges, launcher = _prometheus(settings, target, resources, gauges, launcher)
    supervisor = Supervisor(
        policy=_policy(settings),
        launcher=launcher,
        lag=lag,
        status=status,
        gauges=gauges,
        stop=stop or threading.Event(),
        poll_s=settings.poll_s,
        stop_grace_s=settings.stop_grace_s,
    )
    return Pool(supervisor, resources)


def _policy(settings: PoolSettings) -> ScalingPolicy:
    return ScalingPolicy(
        min_workers=settings.min_workers,
        max_workers=settings.max_workers,
        scale_up_lag=settings.scale_up_lag,
        scale_down_lag=settings.scale_down_lag,
        cooldown_s=settings.cooldown_s,
    )


def _prometheus(
    settings: PoolSettings,
    target: PoolTarget,
    resources: ExitStack,
    gauges: PoolGauges | None,
    launcher: Launcher | None,
) -> tuple[PoolGauges, Launcher]:
    """The pool's registry and listener, and workers that write their metrics where the
    listener reads them (a fresh directory: prometheus_client wants it empty at start)."""
    workers_dir = Path(tempfile.mkdtemp(prefix="flashsale-pool-metrics-"))
    resources.callback(shutil.rmtree, workers_dir, ignore_errors=True)
    registry = CollectorRegistry()
    serve_pool_metrics(registry, workers_dir, settings.metrics_port, settings.metrics_host)
    env = {k: v for k, v in target.env.items() if k not in target.drop_env}
    gauges = gauges or PrometheusPoolGauges(target.group_id, registry)
    return gauges, launcher or ProcessLauncher(target.argv, env, workers_dir)
