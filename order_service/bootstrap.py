"""Wires the order service: real adapters from settings, or the fakes a test passes in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

from flashsale.async_producer import AsyncProducer
from flashsale.db import make_engine
from flashsale.kafka import producer_config
from flashsale.metrics import Metrics, NullMetrics
from order_service.breaker import KafkaBreaker
from order_service.handlers import Deps
from order_service.payments import Payments
from order_service.publisher import KafkaOrderPublisher
from order_service.recovery import Recovery
from order_service.reservations import RedisIdempotency, RedisReservations, RedisSaleStock
from order_service.settings import OrderServiceSettings
from order_service.soldout import StockChannelFlags, follow_stock_channel
from order_service.sql import SqlOrderStatus, SqlSales

__all__ = ["Services", "bootstrap", "redis_pool"]

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything the app needs, and the background work it starts and stops."""

    settings: OrderServiceSettings
    deps: Deps
    recovery: Recovery
    redis: Redis | None = None  # None with fakes: no stock channel to follow
    payments: Payments | None = None  # None with fakes: POST .../payment answers 503
    closers: list[Any] = field(default_factory=list)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    stock_channel_ready: asyncio.Event = field(default_factory=asyncio.Event)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)  # keep a reference: the loop only holds weak ones
        task.add_done_callback(self.tasks.discard)

    async def start(self) -> None:
        if self.redis is not None:
            self.spawn(follow_stock_channel(self.redis, self.deps.flags, self.stock_channel_ready))
        self.spawn(self.recovery.run_forever(self.settings.recovery_interval_s))

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for close in self.closers:
            result = close()
            if asyncio.iscoroutine(result):
                await result


def bootstrap(
    settings: OrderServiceSettings,
    metrics: Metrics | None = None,
    redis: Redis | None = None,
    **fakes: Any,
) -> Services:
    """Real adapters for every port not given in `fakes` (keyword = Deps field name)."""
    closers: list[Any] = []
    if redis is None and not _all_faked(fakes):
        redis = Redis(connection_pool=redis_pool(settings))
        closers.append(redis.aclose)
    adapters: dict[str, Any] = dict(fakes)
    if redis is not None:
        adapters.setdefault(
            "reservations",
            RedisReservations(redis, settings.order_pointer_ttl_s, settings.orders_topic),
        )
        claim_ttl = settings.kafka_delivery_timeout_ms // 1000 + 10
        adapters.setdefault(
            "idempotency", RedisIdempotency(redis, settings.idempotency_ttl_s, claim_ttl)
        )
        adapters.setdefault("stock", RedisSaleStock(redis))
    if "publisher" not in adapters:
        config = producer_config(
            settings.kafka_bootstrap,
            settings.service_name,
            **{"delivery.timeout.ms": settings.kafka_delivery_timeout_ms},
        )
        publisher = KafkaOrderPublisher(AsyncProducer(config), settings.orders_topic)
        adapters["publisher"] = publisher
        closers.append(lambda: publisher.close(5.0))
    payments: Payments | None = adapters.pop("payments", None)
    if (
        "sales" not in adapters
        or "orders" not in adapters
        or (payments is None and not _all_faked(fakes))
    ):
        engine = make_engine(settings.database_url)
        adapters.setdefault("sales", SqlSales(engine))
        adapters.setdefault("orders", SqlOrderStatus(engine))
        payments = payments or Payments(engine, settings.order_events_topic)
        closers.append(engine.dispose)
    breaker = adapters.pop("breaker", None) or KafkaBreaker(settings.kafka_breaker_cooldown_s)
    flags = adapters.pop("flags", None) or StockChannelFlags(settings.sold_out_ttl_s)
    deps = Deps(
        **adapters,
        flags=flags,
        breaker=breaker,
        retry_after_s=settings.retry_after_s,
        metrics=metrics or NullMetrics(),
    )
    recovery = Recovery(
        deps.reservations,
        deps.publisher,
        breaker,
        after_s=settings.recovery_after_s,
        batch=settings.recovery_batch,
        prune_after_s=settings.prune_ended_after_s,
        prune_every=settings.prune_every_rounds,
    )
    services = Services(settings, deps, recovery, redis=redis, payments=payments, closers=closers)
    deps.spawn = services.spawn
    return services


def redis_pool(settings: OrderServiceSettings, **kwargs: Any) -> BlockingConnectionPool:
    return BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_pool_size,
        timeout=settings.redis_pool_timeout_s,
        decode_responses=True,
        **kwargs,
    )


def _all_faked(fakes: dict[str, Any]) -> bool:
    return {"reservations", "idempotency", "stock"} <= fakes.keys()
