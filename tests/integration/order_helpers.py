"""Shared set-up of the order service's integration tests: a sale, a topic, settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from flashsale.contracts import OrderPlaced, OrderVoided, decode_event
from flashsale.settings import InfraSettings
from flashsale.stock import SALES_SET, SaleKeys, load_sale
from order_service.settings import OrderServiceSettings
from tests.kafka_helpers import create_topic, read_topic
from tests.random_refs import random_sale_id, random_topic


def order_settings(infra: InfraSettings, topic: str, **overrides: Any) -> OrderServiceSettings:
    values: dict[str, Any] = {
        "kafka_bootstrap": infra.kafka_bootstrap,
        "redis_url": infra.redis_url,
        "database_url": infra.database_url,
        "orders_topic": topic,
        "admin_token": "test-admin-token",
    }
    values.update(overrides)
    return OrderServiceSettings(**values)


def new_topic(bootstrap: str, name: str) -> str:
    topic = random_topic(name)
    create_topic(bootstrap, topic, partitions=6)
    return topic


async def new_sale(redis: Redis, stock: int, per_user_limit: int = 1) -> str:
    sale_id = random_sale_id()
    now = datetime.now(UTC)
    await load_sale(
        redis, sale_id, stock, now - timedelta(minutes=1), now + timedelta(hours=1), per_user_limit
    )
    return sale_id


async def drop_sale(redis: Redis, sale_id: str) -> None:
    await redis.delete(*SaleKeys(sale_id).all())
    await redis.srem(SALES_SET, sale_id)  # or every recovery loop scans it forever


def events_of(
    bootstrap: str, topic: str, expected: int, timeout: float = 30.0
) -> list[OrderPlaced | OrderVoided]:
    out: list[OrderPlaced | OrderVoided] = []
    for message in read_topic(bootstrap, topic, expected, timeout):
        event = decode_event(message.value())
        assert isinstance(event, OrderPlaced | OrderVoided)
        assert message.key() == event.user_id.encode()  # keyed by user id, always
        out.append(event)
    return out
