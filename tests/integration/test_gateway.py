"""The gateway in front of the real order service (real Redis and Kafka)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from redis.asyncio import Redis

from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys
from gateway.adapters.shared_bucket import RedisSharedBucket
from gateway.app import create_app as create_gateway
from gateway.bucket import Rate
from gateway.settings import GatewaySettings
from order_service.app import create_app as create_order_service
from tests.asgi_server import free_port, serve
from tests.integration.order_helpers import drop_sale, new_sale, new_topic, order_settings
from tests.random_refs import random_user_id, suffix

pytestmark = pytest.mark.integration


def gateway_settings(order_url: str, **overrides: object) -> GatewaySettings:
    # Every buyer in these tests comes from 127.0.0.1: the proxy headers tell them apart.
    values: dict[str, object] = {
        "order_service_url": order_url,
        "trusted_proxies": ["127.0.0.1"],
        "client_rate": 0.1,
        "client_burst": 1,
    }
    values.update(overrides)
    return GatewaySettings(**values)  # type: ignore[arg-type]


async def buy(client: httpx.AsyncClient, sale_id: str, user: str) -> httpx.Response:
    return await client.post(
        f"/api/sales/{sale_id}/orders",
        json={"user_id": user},
        headers={"X-Authenticated-User": user},
    )


async def test_gateway_forwards_limits_and_remembers_sold_out(
    infra: InfraSettings, redis: Redis
) -> None:
    topic = new_topic(infra.kafka_bootstrap, "gateway")
    sale_id = await new_sale(redis, stock=1)
    order_port = free_port()
    order_app = create_order_service(order_settings(infra, topic))
    # A sold-out memory that outlives the order service's shutdown on a slow machine.
    gateway = create_gateway(gateway_settings(f"http://127.0.0.1:{order_port}", sold_out_ttl_s=30))
    async with serve(gateway) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        async with serve(order_app, port=order_port):
            buyer = random_user_id()
            token = await buy(client, sale_id, buyer)
            assert token.status_code == 202
            status = await client.get(token.json()["status_url"])
            assert status.json()["status"] == "PENDING"  # forwarded GET, too
            # Same user again at once: its own bucket (burst 1) is empty.
            limited = await buy(client, sale_id, buyer)
            assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
            sold = await buy(client, sale_id, random_user_id())
            assert sold.status_code == 409 and sold.json() == {"error": "sold_out"}
        # The order service is gone; the gateway still knows the sale is sold out...
        again = await buy(client, sale_id, random_user_id())
        assert again.status_code == 409 and again.json() == {"error": "sold_out"}
        # ...and for anything else answers 503 + Retry-After at once, never a hang.
        start = time.monotonic()
        down = await buy(client, "another-sale", random_user_id())
        assert down.status_code == 503 and down.headers["retry-after"] == "1"
        assert time.monotonic() - start < 1.0
        page = await client.get("/waiting-room")
        assert page.status_code == 200 and "public" in page.headers["cache-control"]
    await drop_sale(redis, sale_id)


async def test_oversized_headers_are_431_at_both_edges_normal_ones_go_through(
    infra: InfraSettings, redis: Redis
) -> None:
    topic = new_topic(infra.kafka_bootstrap, "headers")
    sale_id = await new_sale(redis, stock=5)
    order_port = free_port()
    order_app = create_order_service(order_settings(infra, topic))
    gateway = create_gateway(gateway_settings(f"http://127.0.0.1:{order_port}", client_burst=5))
    padding = {"X-Padding": "a" * 65_536}
    async with (
        serve(order_app, port=order_port) as order_url,
        serve(gateway) as gateway_url,
        httpx.AsyncClient(timeout=30) as client,
    ):
        for url in (gateway_url, order_url):
            orders = f"{url}/api/sales/{sale_id}/orders"
            huge = await client.post(orders, json={"user_id": random_user_id()}, headers=padding)
            assert (huge.status_code, huge.json()) == (431, {"error": "headers_too_large"})
            assert huge.headers["connection"] == "close"
            user = random_user_id()
            normal = {"X-Authenticated-User": user, "X-Padding": "a" * 4000}
            bought = await client.post(orders, json={"user_id": user}, headers=normal)
            assert bought.status_code == 202
    assert await redis.get(SaleKeys(sale_id).stock) == "3"  # the two 431s reserved nothing
    await drop_sale(redis, sale_id)


async def test_a_silent_order_service_is_503_after_the_read_timeout() -> None:
    # Accepts the connection and reads until the gateway gives up on it; never answers.
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = gateway_settings(f"http://127.0.0.1:{port}", upstream_read_timeout_s=0.3)
    async with (
        server,
        serve(create_gateway(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        start = time.monotonic()
        down = await buy(client, "a-sale", random_user_id())
        assert down.status_code == 503 and down.headers["retry-after"] == "1"
        assert 0.3 <= time.monotonic() - start < 2.0


async def test_shared_bucket_caps_the_sum_over_replicas(infra: InfraSettings) -> None:
    redis = Redis.from_url(infra.redis_url)
    key = f"test:gateway:bucket:{suffix()}"
    # Two replicas share one bucket: burst 10, 1 token a second.
    replicas = [RedisSharedBucket(redis, key, Rate(1, 10)) for _ in range(2)]
    waits = await asyncio.gather(*(replicas[i % 2].take() for i in range(30)))
    assert sum(1 for w in waits if w == 0.0) == 10
    assert all(0 < w <= 21 for w in waits if w)
    await redis.delete(key)
    await redis.aclose()
