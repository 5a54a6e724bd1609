"""bootstrap() wires only what it is not given: all fakes open no connection, a missing
database adapter builds the engine, a given Redis client is used, never replaced."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from order_service import bootstrap as order_bootstrap
from order_service.adapters.reservations import RedisIdempotency, RedisReservations
from order_service.adapters.sql import SqlOrderStatus, SqlPayments, SqlSales
from order_service.bootstrap import bootstrap
from order_service.settings import OrderServiceSettings
from tests.unit.order_service.fakes import (
    FakeClock,
    FakeIdempotency,
    FakeOrders,
    FakePayments,
    FakePublisher,
    FakeReservations,
    FakeSales,
    FakeStock,
    fake_services,
)

# Nothing listens there: any connection attempt would fail the test.
NOWHERE = {
    "redis_url": "redis://127.0.0.1:9/0",
    "database_url": "postgresql+psycopg://nobody@127.0.0.1:9/nothing",
    "kafka_bootstrap": "127.0.0.1:9",
}


async def test_with_every_adapter_faked_nothing_is_opened_and_start_stop_run() -> None:
    clock = FakeClock(now=5_000.0)
    services = fake_services(clock, **NOWHERE)
    assert services.redis is None  # no client: no stock channel to follow
    assert services.closers == []  # no Redis pool, no engine, no Kafka producer
    assert isinstance(services.deps.reservations, FakeReservations)
    assert isinstance(services.deps.payments, FakePayments)
    assert services.deps.clock is clock
    await services.start()
    assert len(services.tasks) == 1  # the recovery loop only
    await services.stop()
    assert services.tasks == set()


async def test_without_database_adapters_the_engine_is_built_and_disposed_at_stop() -> None:
    settings = OrderServiceSettings(dev_mode=True, **NOWHERE)  # type: ignore[arg-type]
    services = bootstrap(
        settings,
        reservations=FakeReservations(),
        idempotency=FakeIdempotency(),
        stock=FakeStock(),
        publisher=FakePublisher(),
    )
    deps = services.deps
    assert isinstance(deps.sales, SqlSales) and isinstance(deps.orders, SqlOrderStatus)
    assert isinstance(deps.payments, SqlPayments)
    assert services.redis is None and len(services.closers) == 1  # the engine's dispose
    await services.stop()  # a lazy engine: disposing it connects to nothing


async def test_a_given_redis_client_carries_the_missing_redis_adapters() -> None:
    settings = OrderServiceSettings(dev_mode=True, **NOWHERE)  # type: ignore[arg-type]
    client = Redis.from_url(NOWHERE["redis_url"])
    services = bootstrap(
        settings,
        stock=FakeStock(),
        publisher=FakePublisher(),
        sales=FakeSales(),
        orders=FakeOrders(),
        payments=FakePayments(),
        redis=client,
    )
    assert isinstance(services.deps.reservations, RedisReservations)
    assert isinstance(services.deps.idempotency, RedisIdempotency)
    assert isinstance(services.deps.stock, FakeStock)  # a given adapter is kept
    assert services.redis is client and services.closers == []  # the caller's to close
    await client.aclose()


async def test_stop_does_not_wait_for_ever_on_a_task_that_ignores_its_cancellation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(order_bootstrap, "STOP_TASKS_S", 0.2)
    services = fake_services()
    closed: list[str] = []
    services.closers.append(lambda: closed.append("closed"))
    release = asyncio.Event()

    async def deaf() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                continue  # swallowed, as a timeout swallowed it on Python 3.11

    services.spawn(deaf())
    await asyncio.sleep(0)
    await asyncio.wait_for(services.stop(), 5)
    assert closed == ["closed"]  # the closers ran after the bounded wait
    release.set()


@pytest.mark.parametrize(("worker_index", "recovering"), [(0, 1), (1, 0), (3, 0)])
async def test_only_worker_0_runs_the_recovery_loop(worker_index: int, recovering: int) -> None:
    services = fake_services(worker_index=worker_index)
    await services.start()
    loops = [t for t in services.tasks if "run_forever" in repr(t.get_coro())]
    assert len(loops) == recovering
    await services.stop()


def test_the_order_producer_lingers_as_configured_and_keeps_the_safe_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configs: list[dict[str, object]] = []

    class RecordingProducer:
        def __init__(self, config: dict[str, object]) -> None:
            configs.append(config)

    monkeypatch.setattr(order_bootstrap, "AsyncProducer", RecordingProducer)
    settings = OrderServiceSettings(dev_mode=True, kafka_linger_ms=0.5, **NOWHERE)  # type: ignore[arg-type]
    bootstrap(
        settings,
        reservations=FakeReservations(),
        idempotency=FakeIdempotency(),
        stock=FakeStock(),
        sales=FakeSales(),
        orders=FakeOrders(),
        payments=FakePayments(),
    )
    [config] = configs
    assert config["linger.ms"] == 0.5
    assert config["acks"] == "all" and config["enable.idempotence"] is True
    assert config["delivery.timeout.ms"] == settings.kafka_delivery_timeout_ms
