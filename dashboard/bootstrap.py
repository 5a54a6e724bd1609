"""Wires the dashboard: the one place adapters are chosen. Real ones from settings, or the
fakes a test passes in."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from redis.asyncio import Redis

from dashboard.adapters.kafka import KafkaTopicOffsets
from dashboard.adapters.redis import RedisStockLevels, RedisWorkers
from dashboard.adapters.scrape import HttpCounterScrape, HttpGaugeScrape
from dashboard.adapters.sql import PipelineChecks, SqlOrderRows
from dashboard.handlers import Hub, Sampler, Sources, keep_checking, keep_sampling
from dashboard.ports import (
    CounterScrape,
    GaugeScrape,
    InvariantChecks,
    OrderRows,
    StockLevels,
    TopicOffsets,
    Workers,
)
from dashboard.settings import DashboardSettings
from flashsale.cancellation import STOP_TASKS_S, stop_tasks
from flashsale.db import make_engine

__all__ = ["ADMISSIONS", "GATEWAY_REQUESTS", "Dashboard", "bootstrap"]

Closer = Callable[[], Awaitable[object]]
# The counters read, by outcome (declared in flashsale/metric_catalog.py).
GATEWAY_REQUESTS = "flashsale_gateway_requests_total"
GATEWAY_BACKPRESSURE = "flashsale_gateway_backpressure"
ADMISSIONS = "flashsale_admission_total"


@dataclass
class Dashboard:
    """The sampler and the hub, and the two loops that run while the app serves."""

    settings: DashboardSettings
    sampler: Sampler
    hub: Hub
    closers: list[Closer] = field(default_factory=list)  # the real adapters' clients
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        interval, checks = self.settings.sample_interval_s, self.settings.check_interval_s
        self.tasks = [
            asyncio.create_task(keep_sampling(self.sampler, self.hub, interval)),
            asyncio.create_task(keep_checking(self.sampler, checks, interval)),
        ]

    async def stop(self) -> None:
        await stop_tasks(self.tasks, STOP_TASKS_S)
        for close in self.closers:
            await close()


def bootstrap(
    settings: DashboardSettings,
    *,
    gateway: CounterScrape | None = None,
    admission: CounterScrape | None = None,
    offsets: TopicOffsets | None = None,
    rows: OrderRows | None = None,
    stock: StockLevels | None = None,
    workers: Workers | None = None,
    checks: InvariantChecks | None = None,
    backpressure: GaugeScrape | None = None,
) -> Dashboard:
    """None for an adapter: the real one, from settings."""
    closers: list[Closer] = []
    http = httpx.AsyncClient(timeout=settings.read_timeout_s)
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    engine = make_engine(settings.database_url)
    closers += [http.aclose, redis.aclose, _disposer(engine.dispose)]
    if offsets is None:
        kafka = offsets = KafkaTopicOffsets(settings, settings.read_timeout_s)
        closers.append(_disposer(kafka.close))
    sources = Sources(
        gateway=gateway or _scrape(http, settings.gateway_url, GATEWAY_REQUESTS),
        admission=admission or _scrape(http, settings.order_service_url, ADMISSIONS),
        offsets=offsets,
        rows=rows or SqlOrderRows(engine, settings.sale_id),
        stock=stock or RedisStockLevels(redis, settings.sale_id),
        workers=workers or RedisWorkers(redis, settings.inventory_group_id),
        checks=checks or PipelineChecks(settings),
        backpressure=backpressure
        or HttpGaugeScrape(http, settings.gateway_url, GATEWAY_BACKPRESSURE),
    )
    sampler = Sampler(
        sources,
        read_timeout_s=settings.read_timeout_s,
        check_all_sales=settings.check_all_sales,
    )
    return Dashboard(settings, sampler, Hub(settings.history), closers)


def _scrape(client: httpx.AsyncClient, base_url: str, family: str) -> HttpCounterScrape:
    return HttpCounterScrape(client, base_url, family, "outcome")


def _disposer(dispose: Callable[[], None]) -> Closer:
    async def close() -> None:
        dispose()

    return close
