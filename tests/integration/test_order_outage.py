"""Kafka down: fast 503s and no token; Kafka back: the voids are published, and their
stock and their users' slots come back once the inventory consumer applied them.

Runs against a broker of its own (never the shared one), stopped and restarted here.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import Engine, text

from flashsale.check import check_invariants
from flashsale.contracts import OrderPlaced, OrderVoided, decode_event
from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys
from order_service.app import create_app
from tests.asgi_server import serve
from tests.dedicated_kafka import dedicated_kafka
from tests.fulfilment_helpers import create_sale, inventory_settings, running_inventory, scalar
from tests.integration.order_helpers import drop_sale, events_of, new_topic, order_settings
from tests.kafka_helpers import read_topic
from tests.net import free_port_pair
from tests.polling import eventually, eventually_async
from tests.random_refs import random_user_id

pytestmark = pytest.mark.integration


async def timed_buy(client: httpx.AsyncClient, sale_id: str, user: str) -> tuple[int, float]:
    start = time.monotonic()
    answer = await client.post(f"/api/sales/{sale_id}/orders", json={"user_id": user})
    return answer.status_code, time.monotonic() - start


async def buy_past_the_breaker(
    client: httpx.AsyncClient, sale_id: str, user: str
) -> httpx.Response:
    """Like any client: on a kafka_unavailable 503, come back after Retry-After (a void
    that timed out while the broker restarted may have re-opened the breaker)."""
    for _ in range(20):
        answer = await client.post(f"/api/sales/{sale_id}/orders", json={"user_id": user})
        if answer.status_code != 503 or answer.json()["error"] != "kafka_unavailable":
            break
        await asyncio.sleep(float(answer.headers["retry-after"]))
    return answer


def db_statuses(engine: Engine, order_ids: set[str]) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT order_id, status FROM orders WHERE order_id = ANY(CAST(:ids AS uuid[]))"),
            {"ids": sorted(order_ids)},
        )
        return {str(order_id): status for order_id, status in rows}


async def test_kafka_outage_gives_fast_503s_and_the_applied_voids_return_the_stock(
    infra: InfraSettings, engine: Engine, redis: Redis
) -> None:
    with dedicated_kafka(free_port_pair()) as cluster:
        bootstrap, kafka = cluster.bootstrap, cluster.script
        topic = new_topic(bootstrap, "outage")
        own_infra = infra.model_copy(update={"kafka_bootstrap": bootstrap})
        # The fulfilment side of this test's topics; started late, as a lagging consumer.
        inventory = inventory_settings(own_infra, orders_topic=topic)
        sale_id = create_sale(engine, infra, stock=10)  # PostgreSQL too: the voids' FK
        keys = SaleKeys(sale_id)
        settings = order_settings(
            infra,
            topic,
            kafka_bootstrap=bootstrap,
            kafka_delivery_timeout_ms=2000,
            kafka_breaker_cooldown_s=1.0,
            recovery_after_s=3,
            recovery_interval_s=0.5,
        )
        async with (
            serve(create_app(settings)) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as client,
        ):
            live = [
                await client.post(
                    f"/api/sales/{sale_id}/orders", json={"user_id": random_user_id()}
                )
                for _ in range(3)
            ]
            assert [a.status_code for a in live] == [202] * 3
            kafka("down")

            # The first wave waits one delivery timeout (2 s), never more: then 503.
            voided_users = [random_user_id() for _ in range(5)]
            first = await asyncio.gather(*(timed_buy(client, sale_id, u) for u in voided_users))
            assert all(status == 503 and took < 4.0 for status, took in first)
            # The breaker is open: the next buyers get their 503 at once.
            fast = [await timed_buy(client, sale_id, random_user_id()) for _ in range(20)]
            assert all(status == 503 for status, _ in fast)
            assert max(took for _, took in fast) < 0.5
            voided = set(await redis.hkeys(keys.voids))
            assert len(voided) == 5  # reserved, produce failed: voids waiting for Kafka
            slots = await redis.hmget(keys.buyers, voided_users)
            assert {slot.removeprefix("void:") for slot in slots} == voided
            assert all(slot.startswith("void:") for slot in slots)
            assert await redis.get(keys.stock) == "2"

            kafka("up")

            async def voids_acknowledged() -> bool:
                return await redis.hlen(keys.voids) == 0

            await eventually_async(voids_acknowledged, 60, "recovery to publish the voids")
            # Acknowledged, not applied (no consumer yet): Redis still holds the units that
            # PostgreSQL would count if an OrderPlaced had landed.
            assert await redis.get(keys.stock) == "2"
            assert db_statuses(engine, voided) == {}
            retry = await buy_past_the_breaker(client, sale_id, voided_users[0])
            assert (retry.status_code, retry.json()) == (503, {"error": "previous_attempt_voided"})
            assert "retry-after" in retry.headers

            with running_inventory(inventory):

                async def stock_back_after_the_db() -> bool:
                    released = set(await redis.smembers(keys.released)) & voided
                    failed = db_statuses(engine, voided)  # read after Redis: a commit precedes
                    assert all(failed.get(o) == "FAILED" for o in released), (released, failed)
                    return await redis.get(keys.stock) == "7"

                await eventually_async(
                    stock_back_after_the_db, 60, "the applied voids to return the stock"
                )
                assert db_statuses(engine, voided) == dict.fromkeys(voided, "FAILED")
                remaining = "SELECT remaining_stock FROM sales WHERE sale_id = :s"
                assert scalar(engine, remaining, s=sale_id) == 7  # the 3 live orders
                assert await redis.hmget(keys.buyers, voided_users) == [None] * 5
                # The slot is free: the voided user buys again, and so does a new one.
                rebuy = await buy_past_the_breaker(client, sale_id, voided_users[0])
                again = await buy_past_the_breaker(client, sale_id, random_user_id())
                assert rebuy.status_code == again.status_code == 202
                tokens = {a.json()["order_id"] for a in [*live, rebuy, again]}

                async def all_tokens_created() -> bool:
                    statuses = db_statuses(engine, tokens)
                    return statuses == dict.fromkeys(tokens, "CREATED")

                await eventually_async(
                    all_tokens_created, 60, "the consumer to write the live orders"
                )
            assert scalar(engine, remaining, s=sale_id) == 5
            assert await redis.get(keys.stock) == "5"
            assert check_invariants(engine, sale_id) == []

        assert not tokens & voided  # no client ever held a voided order id

        # Read until every void arrived (a fresh reader may start before all partitions
        # are fetched); bounded.
        def every_void_read() -> list[Any] | None:
            events = events_of(bootstrap, topic, expected=len(tokens) + 5)
            seen = {str(e.order_id) for e in events if isinstance(e, OrderVoided)}
            return events if seen >= voided else None

        events = eventually(every_void_read, 60, "every void on the topic", every_s=0)
        voids = [e for e in events if isinstance(e, OrderVoided)]
        assert {str(e.order_id) for e in voids} == voided
        assert {str(e.order_id) for e in events if isinstance(e, OrderPlaced)} >= tokens
        # A voided order's OrderPlaced, if it landed at all, comes before its void on the
        # same partition: the consumers see the void last and the order stays dead.
        position: dict[tuple[str, str], tuple[int, int]] = {}
        for message in read_topic(bootstrap, topic, expected=len(events)):
            event = events_of_one(message.value())
            position[(type(event).__name__, str(event.order_id))] = (
                message.partition(),
                message.offset(),
            )
        for order_id in voided:
            placed_at = position.get(("OrderPlaced", order_id))
            void_at = position[("OrderVoided", order_id)]
            assert placed_at is None or (placed_at[0] == void_at[0] and placed_at[1] < void_at[1])
    await drop_sale(redis, sale_id)


def events_of_one(raw: bytes | None) -> OrderPlaced | OrderVoided:
    event = decode_event(raw)
    assert isinstance(event, OrderPlaced | OrderVoided)
    return event
