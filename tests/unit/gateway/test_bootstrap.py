"""The wiring: real adapters from settings, fakes when given, the settings' limits."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from gateway.adapters.lag import RedisLagReader
from gateway.adapters.metrics import PrometheusMetrics
from gateway.adapters.raw_upstream import RawUpstream
from gateway.adapters.shared_bucket import RedisSharedBucket
from gateway.adapters.upstream import AiohttpUpstream
from gateway.bootstrap import bootstrap
from gateway.ports import GaugeReading, Outcomes
from gateway.settings import GatewaySettings
from tests.unit.gateway.fakes import (
    FakeClock,
    FakeLagReader,
    FakeSharedBucket,
    FakeUpstream,
    tallies,
)


def test_real_adapters_from_settings() -> None:
    gateway = bootstrap(GatewaySettings())
    assert isinstance(gateway.upstream, RawUpstream)
    aiohttp = bootstrap(GatewaySettings(upstream_client="aiohttp"))
    assert isinstance(aiohttp.upstream, AiohttpUpstream)
    assert isinstance(gateway.metrics, PrometheusMetrics)
    assert gateway.admission.shared is None  # no Redis named: this replica's buckets alone
    assert gateway.lag_reader is None and gateway.backpressure is None  # backpressure off
    lag = bootstrap(GatewaySettings(lag_redis_url="redis://127.0.0.1:1/0"))
    assert isinstance(lag.lag_reader, RedisLagReader) and lag.backpressure is not None
    # Nothing connects yet: the client is lazy, the script is registered by its sha.
    url = GatewaySettings(shared_bucket_redis_url="redis://127.0.0.1:1/0")
    assert isinstance(bootstrap(url).admission.shared, RedisSharedBucket)


def test_the_fakes_given_are_the_ones_used() -> None:
    upstream, shared = FakeUpstream(), FakeSharedBucket()
    settings = GatewaySettings(shared_bucket_redis_url="redis://127.0.0.1:1/0")
    gateway = bootstrap(settings, upstream=upstream, shared_bucket=shared)
    assert gateway.upstream is upstream and gateway.admission.shared is shared
    assert gateway.settings is settings


def test_the_limits_and_the_clock_come_from_the_caller() -> None:
    clock = FakeClock()
    settings = GatewaySettings(
        client_rate=1, client_burst=2, global_rate=1, global_burst=3, sold_out_ttl_s=5
    )
    admission = bootstrap(settings, upstream=FakeUpstream(), clock=clock).admission
    assert [admission.local_retry_after("a") for _ in range(3)] == [0, 0, 1]
    assert [admission.local_retry_after(k) for k in ("b", "c")] == [0, 1]  # global burst 3
    admission.sold_out.mark("s1")
    clock.now += 4
    assert admission.sold_out.is_sold_out("s1")
    clock.now += 1
    assert not admission.sold_out.is_sold_out("s1")
    assert admission.local_retry_after("c") == 0  # five seconds refilled the buckets


def test_trusted_proxies_come_from_settings() -> None:
    gateway = bootstrap(GatewaySettings(trusted_proxies=["10.0.0.0/8"]), upstream=FakeUpstream())
    assert gateway.clients.is_trusted("10.1.2.3") and not gateway.clients.is_trusted("1.1.1.1")


class FakeMetrics:
    """gateway.ports.Metrics: tallies, and the gauge reader it was given."""

    def __init__(self) -> None:
        self.outcomes: Outcomes = tallies()
        self.read: Callable[[], GaugeReading] | None = None

    def read_gauges_with(self, read: Callable[[], GaugeReading]) -> None:
        self.read = read

    def exposition(self) -> tuple[bytes, str]:
        return b"", "text/plain"


def test_the_gauges_read_the_global_bucket_and_the_backpressure() -> None:
    clock, metrics = FakeClock(), FakeMetrics()
    settings = GatewaySettings(global_rate=100, global_burst=10, backpressure_factor=0.5)
    gateway = bootstrap(
        settings, upstream=FakeUpstream(), lag_reader=FakeLagReader(0), metrics=metrics, clock=clock
    )
    assert gateway.metrics is metrics and metrics.read is not None
    assert metrics.read() == GaugeReading(10.0, 100.0, False)
    for key in "abc":
        gateway.admission.local_retry_after(key)
    assert gateway.backpressure is not None
    gateway.backpressure.observe(settings.backpressure_high_lag + 1)
    reading = metrics.read()
    assert reading.bucket_tokens == pytest.approx(7.0)  # three taken, at 100/s from then on
    assert (reading.global_rate, reading.backpressure) == (50.0, True)


def test_the_low_water_mark_cannot_be_above_the_high_one() -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(backpressure_high_lag=100, backpressure_low_lag=101)
