"""Re-posting a sale after Redis lost it never resets sold stock (real PostgreSQL, Redis,
Kafka): it reloads only a sale that never sold anything, else asks for a repair."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import Engine

from flashsale.contracts import OrderPlaced
from flashsale.settings import InfraSettings
from flashsale.stock import SALES_SET, SaleKeys
from inventory_consumer.adapters.sql import SqlOrderStore
from inventory_consumer.plan import plan_batch
from order_service.app import create_app
from tests.asgi_server import serve
from tests.integration.order_helpers import drop_sale, events_of, new_topic, order_settings
from tests.random_refs import random_sale_id, random_topic, random_user_id

pytestmark = pytest.mark.integration

ADMIN = {"Authorization": "Bearer test-admin-token"}  # order_helpers.order_settings' token


def new_sale_body(stock: int) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    return {
        "sale_id": random_sale_id("repost"),
        "name": "repost",
        "stock": stock,
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
    }


async def buy(client: httpx.AsyncClient, sale_id: str) -> httpx.Response:
    return await client.post(f"/api/sales/{sale_id}/orders", json={"user_id": random_user_id()})


async def test_a_sale_with_sold_units_is_not_reloaded_but_sent_to_repair(
    infra: InfraSettings, engine: Engine, redis: Redis
) -> None:
    topic = new_topic(infra.kafka_bootstrap, "repost")
    sale = new_sale_body(stock=5)
    sale_id, keys = sale["sale_id"], SaleKeys(sale["sale_id"])
    async with (
        serve(create_app(order_settings(infra, topic))) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        assert (await client.post("/admin/sales", json=sale, headers=ADMIN)).status_code == 201
        assert [(await buy(client, sale_id)).status_code for _ in range(2)] == [202, 202]
        placed = [
            e for e in events_of(infra.kafka_bootstrap, topic, 2) if isinstance(e, OrderPlaced)
        ]
        SqlOrderStore(engine, random_topic("events"), 600).apply(plan_batch(placed))  # consumer
        await redis.delete(*keys.all())  # Redis loses the sale

        again = await client.post("/admin/sales", json=sale, headers=ADMIN)
        assert (again.status_code, again.json()) == (
            409,
            {
                "error": "sale_needs_repair",
                "sale_id": sale_id,
                "hint": f"flashsale repair --sale {sale_id}",
            },
        )
        assert await redis.exists(keys.meta, keys.stock) == 0  # not reloaded with 5 units
        assert (await buy(client, sale_id)).status_code == 404  # no unit sold twice
    await drop_sale(redis, sale_id)


async def test_a_sale_that_never_sold_is_loaded_again(
    infra: InfraSettings, engine: Engine, redis: Redis
) -> None:
    topic = new_topic(infra.kafka_bootstrap, "repost")
    sale = new_sale_body(stock=3)
    sale_id, keys = sale["sale_id"], SaleKeys(sale["sale_id"])
    async with (
        serve(create_app(order_settings(infra, topic))) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        assert (await client.post("/admin/sales", json=sale, headers=ADMIN)).status_code == 201
        # The crash between the DB row and Redis: the row exists, Redis never had the sale.
        await redis.delete(*keys.all())
        await redis.srem(SALES_SET, sale_id)
        again = await client.post("/admin/sales", json=sale, headers=ADMIN)
        assert (again.status_code, again.json()) == (200, {"sale_id": sale_id, "stock": 3})
        assert await redis.get(keys.stock) == "3"
        assert await redis.sismember(SALES_SET, sale_id)
        assert (await buy(client, sale_id)).status_code == 202
    await drop_sale(redis, sale_id)
