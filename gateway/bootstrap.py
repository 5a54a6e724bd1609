"""Wires the gateway: the one place adapters are chosen. Real ones from settings, or the
fakes a test passes in."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from flashsale.asgi import SoldOutFlags
from gateway.adapters.lag import RedisLagReader
from gateway.adapters.metrics import PrometheusMetrics
from gateway.adapters.raw_upstream import RawUpstream
from gateway.adapters.shared_bucket import RedisSharedBucket
from gateway.adapters.upstream import AiohttpUpstream
from gateway.backpressure import Backpressure, WaterMarks
from gateway.bucket import GcraBucket, KeyedBuckets, Rate
from gateway.clients import ClientKeys
from gateway.handlers import Admission
from gateway.ports import GaugeReading, LagReader, Metrics, SharedBucket, Upstream
from gateway.settings import GatewaySettings

__all__ = ["Gateway", "bootstrap"]


@dataclass(frozen=True)
class Gateway:
    """The wired parts the ASGI stack (app.py) is assembled from."""

    settings: GatewaySettings
    clients: ClientKeys
    admission: Admission
    upstream: Upstream  # started and closed by the app's lifespan
    metrics: Metrics
    # Both None when backpressure is off; else the lifespan runs backpressure.watch_lag.
    lag_reader: LagReader | None = None
    backpressure: Backpressure | None = None

    def gauges(self) -> GaugeReading:
        bucket = self.admission.global_bucket
        engaged = self.backpressure is not None and self.backpressure.engaged
        return GaugeReading(bucket.tokens(), bucket.rate.per_second, engaged)


def bootstrap(
    settings: GatewaySettings,
    *,
    upstream: Upstream | None = None,
    shared_bucket: SharedBucket | None = None,
    lag_reader: LagReader | None = None,
    metrics: Metrics | None = None,
    clock: Callable[[], float] | None = None,
) -> Gateway:
    """None for an adapter: the real one. The shared bucket and the lag reader exist only
    when given or when settings name their Redis; `clock` (monotonic seconds) drives
    buckets and flags."""
    clock = clock or time.monotonic
    if shared_bucket is None and settings.shared_bucket_redis_url:
        redis = Redis.from_url(settings.shared_bucket_redis_url)
        fleet_rate = Rate(settings.global_rate, settings.global_burst)  # one for all workers
        shared_bucket = RedisSharedBucket(redis, settings.shared_bucket_key, fleet_rate)
    if lag_reader is None and settings.lag_redis_url:
        lag_reader = _redis_lag_reader(settings.lag_redis_url, settings)
    admission = _admission(settings, shared_bucket, clock)
    global_bucket = admission.global_bucket
    gateway = Gateway(
        settings=settings,
        clients=ClientKeys(settings.trusted_proxies),
        admission=admission,
        upstream=upstream or _upstream(settings),
        metrics=metrics or PrometheusMetrics(),
        lag_reader=lag_reader,
        backpressure=_backpressure(settings, global_bucket) if lag_reader else None,
    )
    gateway.metrics.read_gauges_with(gateway.gauges)
    return gateway


def _upstream(settings: GatewaySettings) -> Upstream:
    if settings.upstream_client == "raw":
        return RawUpstream(settings)
    return AiohttpUpstream(settings)


def _admission(
    settings: GatewaySettings, shared_bucket: SharedBucket | None, clock: Callable[[], float]
) -> Admission:
    # Connections spread evenly over the workers, so each holds its share of the global
    # rate. A client's share too: never more than its rate in all, maybe less if its
    # connections land on one worker (the safe side; the shared bucket is exact).
    global_rate = Rate.share(settings.global_rate, settings.global_burst, settings.workers)
    client_rate = Rate.share(settings.client_rate, settings.client_burst, settings.workers)
    return Admission(
        KeyedBuckets(client_rate, settings.max_clients, clock),
        GcraBucket(global_rate, clock),
        SoldOutFlags(settings.sold_out_ttl_s, clock),
        shared_bucket,
    )


def _redis_lag_reader(url: str, settings: GatewaySettings) -> RedisLagReader:
    # A hung Redis is a reading that fails (logged), not a watcher stuck for ever.
    timeout = max(settings.lag_poll_s, 1.0)
    redis = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    return RedisLagReader(redis, settings.lag_key)


def _backpressure(settings: GatewaySettings, bucket: GcraBucket) -> Backpressure:
    marks = WaterMarks(
        settings.backpressure_high_lag, settings.backpressure_low_lag, settings.backpressure_factor
    )
    return Backpressure(bucket, marks)
