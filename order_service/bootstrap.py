"""Wires the order service: every adapter the caller did not pass is the real one from
settings. Redis is opened only when a Redis adapter is missing, the SQL engine only when a
database adapter is, the Kafka producer only without a publisher."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

from flashsale.async_producer import AsyncProducer
from flashsale.cancellation import STOP_TASKS_S, stop_tasks
from flashsale.db import make_engine
from flashsale.kafka import producer_config
from flashsale.metrics import Metrics, NullMetrics
from order_service.adapters.publisher import KafkaOrderPublisher
from order_service.adapters.reservations import (
    RedisIdempotency,
    RedisReservations,
    RedisSaleStock,
)
from order_service.adapters.sql import SqlOrderStatus, SqlPayments, SqlSales
from order_service.adapters.stock_channel import follow_stock_channel
from order_service.breaker import KafkaBreaker
from order_service.handlers import Deps
from order_service.ports import (
    IdempotencyStore,
    OrderPayments,
    OrderPublisher,
    OrderStatusReader,
    Reservations,
    SalesRepository,
    SaleStock,
)
from order_service.recovery import Recovery
from order_service.settings import OrderServiceSettings
from order_service.soldout import StockChannelFlags
from order_service.telemetry import OrderMetrics

__all__ = ["Services", "bootstrap", "redis_pool"]

# What `Services.stop` calls last, awaiting what it returns if a coroutine: the Redis
# client's aclose, the engine's dispose, the producer's close.
Closer = Callable[[], Any]


log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything the app needs, and the background work it starts and stops."""

    settings: OrderServiceSettings
    deps: Deps
    recovery: Recovery
    redis: Redis | None = None  # None: every Redis adapter given, no channel to follow
    closers: list[Closer] = field(default_factory=list)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    stock_channel_ready: asyncio.Event = field(default_factory=asyncio.Event)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)  # keep a reference: the loop only holds weak ones
        task.add_done_callback(self.tasks.discard)

    async def start(self) -> None:
        if self.redis is not None:
            self.spawn(follow_stock_channel(self.redis, self.deps.flags, self.stock_channel_ready))
        if self.settings.worker_index == 0:  # the other workers' pendings are its too
            self.spawn(self.recovery.run_forever(self.settings.recovery_interval_s))

    async def stop(self) -> None:
        await stop_tasks(list(self.tasks), STOP_TASKS_S)
        for close in self.closers:
            result = close()
            if asyncio.iscoroutine(result):
                await result


def bootstrap(
    settings: OrderServiceSettings,
    *,
    reservations: Reservations | None = None,
    idempotency: IdempotencyStore | None = None,
    stock: SaleStock | None = None,
    publisher: OrderPublisher | None = None,
    sales: SalesRepository | None = None,
    orders: OrderStatusReader | None = None,
    payments: OrderPayments | None = None,
    flags: StockChannelFlags | None = None,
    breaker: KafkaBreaker | None = None,
    redis: Redis | None = None,
    metrics: Metrics | None = None,
    clock: Callable[[], float] = time.time,
) -> Services:
    """None: the real adapter from settings; `redis` (None: a pool, only if a Redis adapter
    is missing) carries the missing Redis adapters and the stock channel. `clock` (wall
    time) dates orders and drives recovery; breaker and flags keep monotonic clocks."""
    closers: list[Closer] = []
    metrics = metrics or NullMetrics()
    on_redis = _redis_adapters(settings, closers, redis, reservations, idempotency, stock)
    on_sql = _sql_adapters(settings, closers, sales, orders, payments)
    deps = Deps(
        reservations=on_redis.reservations,
        idempotency=on_redis.idempotency,
        publisher=publisher or _kafka_publisher(settings, closers, metrics),
        sales=on_sql.sales,
        stock=on_redis.stock,
        orders=on_sql.orders,
        payments=on_sql.payments,
        flags=flags or StockChannelFlags(settings.sold_out_ttl_s),
        breaker=breaker or KafkaBreaker(settings.kafka_breaker_cooldown_s),
        retry_after_s=settings.retry_after_s,
        metrics=OrderMetrics(metrics),
        clock=clock,
    )
    services = Services(settings, deps, _recovery(settings, deps), on_redis.client, closers)
    deps.spawn = services.spawn
    return services


@dataclass(frozen=True)
class _RedisAdapters:
    client: Redis | None  # None: every Redis adapter was given, nothing to connect to
    reservations: Reservations
    idempotency: IdempotencyStore
    stock: SaleStock


def _redis_adapters(
    settings: OrderServiceSettings,
    closers: list[Closer],
    redis: Redis | None,
    reservations: Reservations | None,
    idempotency: IdempotencyStore | None,
    stock: SaleStock | None,
) -> _RedisAdapters:
    if reservations is not None and idempotency is not None and stock is not None:
        return _RedisAdapters(redis, reservations, idempotency, stock)
    if redis is None:
        redis = Redis(connection_pool=redis_pool(settings))
        closers.append(redis.aclose)
    # A claim outlives a request (its delivery timeout), not a crash for long.
    claim_ttl_s = settings.kafka_delivery_timeout_ms // 1000 + 10
    pointer_ttl_s, topic = settings.order_pointer_ttl_s, settings.orders_topic
    return _RedisAdapters(
        redis,
        reservations or RedisReservations(redis, pointer_ttl_s, topic),
        idempotency or RedisIdempotency(redis, settings.idempotency_ttl_s, claim_ttl_s),
        stock or RedisSaleStock(redis),
    )


@dataclass(frozen=True)
class _SqlAdapters:
    sales: SalesRepository
    orders: OrderStatusReader
    payments: OrderPayments


def _sql_adapters(
    settings: OrderServiceSettings,
    closers: list[Closer],
    sales: SalesRepository | None,
    orders: OrderStatusReader | None,
    payments: OrderPayments | None,
) -> _SqlAdapters:
    if sales is not None and orders is not None and payments is not None:
        return _SqlAdapters(sales, orders, payments)
    engine = make_engine(settings.database_url)
    closers.append(engine.dispose)
    return _SqlAdapters(
        sales or SqlSales(engine),
        orders or SqlOrderStatus(engine),
        payments or SqlPayments(engine, settings.order_events_topic),
    )


def _kafka_publisher(
    settings: OrderServiceSettings, closers: list[Closer], metrics: Metrics
) -> OrderPublisher:
    config = producer_config(
        settings,
        settings.service_name,
        **{
            "delivery.timeout.ms": settings.kafka_delivery_timeout_ms,
            "linger.ms": settings.kafka_linger_ms,
        },
    )
    publisher = KafkaOrderPublisher(AsyncProducer(config), settings.orders_topic, metrics)
    closers.append(lambda: publisher.close(5.0))
    return publisher


def _recovery(settings: OrderServiceSettings, deps: Deps) -> Recovery:
    return Recovery(
        deps.reservations,
        deps.publisher,
        deps.breaker,
        after_s=settings.recovery_after_s,
        batch=settings.recovery_batch,
        clock=deps.clock,
        prune_after_s=settings.prune_ended_after_s,
        prune_every=settings.prune_every_rounds,
        on_pruned=deps.metrics.forget_sale,
    )


def redis_pool(settings: OrderServiceSettings, **kwargs: Any) -> BlockingConnectionPool:
    """The service's Redis pool; `kwargs` for tests (a counting connection class)."""
    return BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_pool_size,
        timeout=settings.redis_pool_timeout_s,
        decode_responses=True,
        **kwargs,
    )
