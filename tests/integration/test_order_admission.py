"""The admission path over HTTP against the real Redis and Kafka (per-test topic and sale)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from redis.asyncio import Connection, Redis

from flashsale.contracts import OrderPlaced
from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys
from order_service.app import create_app
from order_service.bootstrap import bootstrap, redis_pool
from order_service.settings import OrderServiceSettings
from tests.asgi_server import serve
from tests.integration.order_helpers import (
    drop_sale,
    events_of,
    new_sale,
    new_topic,
    order_settings,
)
from tests.random_refs import random_user_id

pytestmark = pytest.mark.integration


async def buy(
    client: httpx.AsyncClient, sale_id: str, user_id: str, url: str = "", **kw: Any
) -> httpx.Response:
    return await client.post(f"{url}/api/sales/{sale_id}/orders", json={"user_id": user_id}, **kw)


async def test_200_buyers_for_50_units_get_exactly_50_orders_on_the_topic(
    infra: InfraSettings, redis: Redis
) -> None:
    topic = new_topic(infra.kafka_bootstrap, "stampede")
    sale_id = await new_sale(redis, stock=50)
    app = create_app(order_settings(infra, topic))
    async with (
        serve(app) as url,
        httpx.AsyncClient(
            base_url=url, limits=httpx.Limits(max_connections=200), timeout=30
        ) as client,
    ):
        users = [random_user_id() for _ in range(200)]
        answers = await asyncio.gather(*(buy(client, sale_id, u) for u in users))
    by_status = Counter(a.status_code for a in answers)
    assert by_status == {202: 50, 409: 150}
    assert all(a.json() == {"error": "sold_out"} for a in answers if a.status_code == 409)
    tokens = {
        a.json()["order_id"]: u for a, u in zip(answers, users, strict=True) if a.status_code == 202
    }

    events = events_of(infra.kafka_bootstrap, topic, expected=50)
    placed = [e for e in events if isinstance(e, OrderPlaced)]
    assert len(events) == len(placed) == 50
    assert {str(e.order_id): e.user_id for e in placed} == tokens
    keys = SaleKeys(sale_id)
    assert await redis.get(keys.stock) == "0"
    assert await redis.hlen(keys.buyers) == 50
    assert await redis.hlen(keys.pending) == 0  # every one acknowledged
    await drop_sale(redis, sale_id)


async def test_second_purchase_is_refused_with_the_first_order_id(
    infra: InfraSettings, redis: Redis
) -> None:
    topic = new_topic(infra.kafka_bootstrap, "twice")
    sale_id = await new_sale(redis, stock=10, per_user_limit=2)
    user = random_user_id()
    async with (
        serve(create_app(order_settings(infra, topic))) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        first = await buy(client, sale_id, user)
        assert first.status_code == 202
        order_id = first.json()["order_id"]
        second = await client.post(
            f"/api/sales/{sale_id}/orders", json={"user_id": user, "quantity": 2}
        )
        assert second.status_code == 409
        assert second.json() == {"error": "already_purchased", "order_id": order_id}
        status = await client.get(first.json()["status_url"])
        assert status.json() == {"order_id": order_id, "status": "PENDING"}
        over = await client.post(
            f"/api/sales/{sale_id}/orders", json={"user_id": random_user_id(), "quantity": 3}
        )
        assert over.status_code == 422
        # Idempotency-Key: the retry of a 202 gets the very same 202, not a 409.
        other = random_user_id()
        once = await buy(client, sale_id, other, headers={"Idempotency-Key": "k1"})
        again = await buy(client, sale_id, other, headers={"Idempotency-Key": "k1"})
        assert once.status_code == again.status_code == 202 and once.json() == again.json()
    assert await redis.get(SaleKeys(sale_id).stock) == "8"
    assert len(events_of(infra.kafka_bootstrap, topic, expected=2)) == 2
    await drop_sale(redis, sale_id)


def counting_redis(settings: OrderServiceSettings) -> tuple[Redis, Counter[str]]:
    """A Redis client that counts every command it sends (pipelines included)."""
    sent: Counter[str] = Counter()

    class CountingConnection(Connection):
        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            sent["commands"] += 1
            await super().send_packed_command(command, check_health)

    return Redis(connection_pool=redis_pool(settings, connection_class=CountingConnection)), sent


async def test_sold_out_answers_skip_redis_on_every_replica(
    infra: InfraSettings, redis: Redis
) -> None:
    topic = new_topic(infra.kafka_bootstrap, "soldout")
    sale_id = await new_sale(redis, stock=3)
    # Long TTL and no recovery rounds, so that nothing but a buyer could touch Redis.
    settings = order_settings(infra, topic, sold_out_ttl_s=60, recovery_interval_s=300)
    replicas = []
    for _ in range(2):
        client, sent = counting_redis(settings)
        replicas.append((bootstrap(settings, redis=client), sent))
    (seller, _), (other, other_sent) = replicas
    async with (
        serve(create_app(settings, seller)) as seller_url,
        serve(create_app(settings, other)) as other_url,
        httpx.AsyncClient(timeout=30) as http,
    ):
        await asyncio.wait_for(other.stock_channel_ready.wait(), 10)
        for _ in range(3):
            assert (await buy(http, sale_id, random_user_id(), url=seller_url)).status_code == 202
        # The last unit went through `seller`; `other` hears "soldout" on the channel.
        async with asyncio.timeout(10):
            while not other.deps.flags.is_sold_out(sale_id):  # noqa: ASYNC110 - polls a flag
                await asyncio.sleep(0.05)
        before = other_sent["commands"]
        for url in (seller_url, other_url):
            answers = [await buy(http, sale_id, random_user_id(), url=url) for _ in range(25)]
            assert {(a.status_code, a.text) for a in answers} == {(409, '{"error":"sold_out"}')}
        assert other_sent["commands"] == before  # 25 sold-out answers, not one Redis command
    await drop_sale(redis, sale_id)
