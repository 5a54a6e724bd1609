"""Fixtures for the real servers. Unit tests use none of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy import Engine

from flashsale.db import make_engine, upgrade
from flashsale.kafka import ensure_topics
from flashsale.settings import InfraSettings
from tests.cleanup import forget_kafka, forget_sales
from tests.infra import resolve_infra
from tests.random_refs import RUN_GROUP_PREFIX, RUN_SALE_PREFIX, RUN_TOPIC_PREFIX


@pytest.fixture(scope="session")
def infra(request: pytest.FixtureRequest) -> Iterator[InfraSettings]:
    """The running infra, as `flashsale init` leaves it: the schema at head, the topics.
    When the run ends, the sales, topics and groups it made are forgotten (tests/cleanup.py)."""
    settings = resolve_infra()
    upgrade(settings.database_url)
    ensure_topics(settings)
    yield settings
    if not request.config.getoption("--keep-test-data"):
        engine = make_engine(settings.database_url)
        try:
            forget_sales(engine, settings.redis_url, RUN_SALE_PREFIX)
        finally:
            engine.dispose()
            forget_kafka(settings.kafka_bootstrap, RUN_TOPIC_PREFIX, RUN_GROUP_PREFIX)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--keep-test-data",
        action="store_true",
        help="keep the sales, topics and groups this run made (to look at a failure)",
    )


@pytest.fixture(scope="session")
def engine(infra: InfraSettings) -> Iterator[Engine]:
    engine = make_engine(infra.database_url, pool_size=10)
    yield engine
    engine.dispose()


@pytest.fixture
def redis_client(infra: InfraSettings) -> Iterator[SyncRedis]:
    client = SyncRedis.from_url(infra.redis_url, decode_responses=True)
    client.ping()
    yield client
    client.close()


@pytest.fixture
async def redis(infra: InfraSettings) -> AsyncIterator[AsyncRedis]:
    """An asyncio client for the tests that drive the async services."""
    client = AsyncRedis.from_url(infra.redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def kafka_bootstrap(infra: InfraSettings) -> str:
    return infra.kafka_bootstrap
