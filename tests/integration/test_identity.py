"""Buyer identity end to end: a real gateway in front of a real order service (real
Redis, Kafka, PostgreSQL). The test client is the auth proxy in front of the gateway: it
names the buyer with X-Authenticated-User, believed only from a trusted peer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import Engine

from flashsale.contracts import OrderPlaced
from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from inventory_consumer.adapters.sql import SqlOrderStore
from inventory_consumer.plan import plan_batch
from order_service.app import create_app as create_order_service
from tests.asgi_server import free_port, serve
from tests.fulfilment_helpers import create_sale
from tests.integration.order_helpers import drop_sale, events_of, new_topic, order_settings
from tests.random_refs import random_topic, random_user_id

pytestmark = pytest.mark.integration


@asynccontextmanager
async def gateway_over_order_service(
    infra: InfraSettings, trusted_proxies: list[str]
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A client of the gateway, and the orders topic the order service writes to."""
    topic = new_topic(infra.kafka_bootstrap, "identity")
    order_port = free_port()
    order_app = create_order_service(
        order_settings(infra, topic, order_events_topic=random_topic("events"))
    )
    gateway = create_gateway(
        GatewaySettings(
            order_service_url=f"http://127.0.0.1:{order_port}",
            trusted_proxies=trusted_proxies,
            client_rate=1000,
            client_burst=1000,
        )
    )
    async with (
        serve(order_app, port=order_port),
        serve(gateway) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield client, topic


def as_user(user: str) -> dict[str, str]:
    return {"X-Authenticated-User": user}


async def test_the_authenticated_buyer_alone_buys_reads_and_pays_its_order(
    infra: InfraSettings, engine: Engine, redis: Redis
) -> None:
    sale_id = create_sale(engine, infra, stock=5, name="identity")
    alice, bob = random_user_id("alice"), random_user_id("bob")
    async with gateway_over_order_service(infra, ["127.0.0.0/8"]) as (client, topic):
        orders = f"/api/sales/{sale_id}/orders"
        spoofed = await client.post(orders, json={"user_id": bob}, headers=as_user(alice))
        assert (spoofed.status_code, spoofed.json()) == (403, {"error": "identity_mismatch"})
        assert await redis.hgetall(SaleKeys(sale_id).buyers) == {}  # nothing reserved
        token = await client.post(orders, json={"user_id": alice}, headers=as_user(alice))
        assert token.status_code == 202
        status_url = token.json()["status_url"]
        order_id = token.json()["order_id"]

        # PENDING (on the topic, not yet in PostgreSQL): the buyers slot says whose it is.
        mine = await client.get(status_url, headers=as_user(alice))
        assert mine.json() == {"order_id": order_id, "status": "PENDING"}
        theirs = await client.get(status_url, headers=as_user(bob))
        assert (theirs.status_code, theirs.json()) == (403, {"error": "not_order_owner"})
        # A retry by someone else naming alice learns nothing either.
        again = await client.post(orders, json={"user_id": alice}, headers=as_user(bob))
        assert again.status_code == 403 and "order_id" not in again.json()

        # Written by the inventory consumer: the row's user says whose it is.
        placed = [
            e for e in events_of(infra.kafka_bootstrap, topic, 1) if isinstance(e, OrderPlaced)
        ]
        SqlOrderStore(engine, random_topic("events"), 600).apply(plan_batch(placed))
        assert (await client.get(status_url, headers=as_user(bob))).status_code == 403
        assert (await client.get(status_url, headers=as_user(alice))).json()["status"] == "CREATED"
        payment = f"/api/orders/{order_id}/payment"
        stolen = await client.post(payment, headers=as_user(bob))
        assert (stolen.status_code, stolen.json()["error"]) == (403, "not_order_owner")
        paid = await client.post(payment, headers=as_user(alice))
        assert (paid.status_code, paid.json()["status"]) == (200, "PAID")
    await drop_sale(redis, sale_id)


async def test_an_untrusted_peer_cannot_lend_itself_an_identity(
    infra: InfraSettings, engine: Engine, redis: Redis
) -> None:
    sale_id = create_sale(engine, infra, stock=5, name="identity")
    carol = random_user_id("carol")
    async with gateway_over_order_service(infra, trusted_proxies=[]) as (client, _):
        # Forwarded, this header would make the order service answer identity_mismatch:
        # dropped, the request is an anonymous one, as before identities existed.
        bought = await client.post(
            f"/api/sales/{sale_id}/orders", json={"user_id": carol}, headers=as_user("mallory")
        )
        assert bought.status_code == 202
        status = await client.get(bought.json()["status_url"], headers=as_user("mallory"))
        assert status.json()["status"] == "PENDING"
    await drop_sale(redis, sale_id)
