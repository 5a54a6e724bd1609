"""Wires the gateway: the one place adapters are chosen. Real ones from settings, or the
fakes a test passes in."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from flashsale.asgi import SoldOutFlags
from gateway.adapters.shared_bucket import RedisSharedBucket
from gateway.adapters.upstream import AiohttpUpstream
from gateway.bucket import GcraBucket, KeyedBuckets, Rate
from gateway.clients import ClientKeys
from gateway.handlers import Admission
from gateway.ports import SharedBucket, Upstream
from gateway.settings import GatewaySettings

__all__ = ["Gateway", "bootstrap"]


@dataclass(frozen=True)
class Gateway:
    """The wired parts the ASGI stack (app.py) is assembled from."""

    settings: GatewaySettings
    clients: ClientKeys
    admission: Admission
    upstream: Upstream  # started and closed by the app's lifespan


def bootstrap(
    settings: GatewaySettings,
    *,
    upstream: Upstream | None = None,
    shared_bucket: SharedBucket | None = None,
    clock: Callable[[], float] | None = None,
) -> Gateway:
    """None for an adapter: the real one. The shared bucket exists only when given or
    when settings name its Redis; `clock` (monotonic seconds) drives buckets and flags."""
    clock = clock or time.monotonic
    global_rate = Rate(settings.global_rate, settings.global_burst)
    if shared_bucket is None and settings.shared_bucket_redis_url:
        redis = Redis.from_url(settings.shared_bucket_redis_url)
        shared_bucket = RedisSharedBucket(redis, settings.shared_bucket_key, global_rate)
    client_rate = Rate(settings.client_rate, settings.client_burst)
    admission = Admission(
        KeyedBuckets(client_rate, settings.max_clients, clock),
        GcraBucket(global_rate, clock),
        SoldOutFlags(settings.sold_out_ttl_s, clock),
        shared_bucket,
    )
    return Gateway(
        settings=settings,
        clients=ClientKeys(settings.trusted_proxies),
        admission=admission,
        upstream=upstream or AiohttpUpstream(settings),
    )
