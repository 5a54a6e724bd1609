"""The wiring: real adapters from settings, fakes when given, the settings' limits."""

from __future__ import annotations

from gateway.adapters.shared_bucket import RedisSharedBucket
from gateway.adapters.upstream import AiohttpUpstream
from gateway.bootstrap import bootstrap
from gateway.settings import GatewaySettings
from tests.unit.gateway.fakes import FakeClock, FakeSharedBucket, FakeUpstream


def test_real_adapters_from_settings() -> None:
    gateway = bootstrap(GatewaySettings())
    assert isinstance(gateway.upstream, AiohttpUpstream)
    assert gateway.admission.shared is None  # no Redis named: this replica's buckets alone
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
