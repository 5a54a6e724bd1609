"""A crash between the Lua call and the Kafka ack loses nothing: SIGKILL a real
`python -m order_service` while its produces hang, restart it, read the topic. And the
recovery scan forgets ended sales once nothing of theirs is left to publish."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from redis.asyncio import Redis

from flashsale.contracts import OrderPlaced
from flashsale.settings import InfraSettings
from flashsale.stock import SALES_SET, SaleKeys, load_sale
from order_service.adapters.reservations import RedisReservations
from tests.asgi_server import free_port
from tests.infra import ROOT
from tests.integration.order_helpers import drop_sale, events_of, new_sale, new_topic
from tests.random_refs import random_sale_id, random_topic, random_user_id

pytestmark = pytest.mark.integration


@contextmanager
def order_service(infra: InfraSettings, port: int, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    full_env = {
        **os.environ,
        "FLASHSALE_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "FLASHSALE_REDIS_URL": infra.redis_url,
        "FLASHSALE_DATABASE_URL": infra.database_url,
        "FLASHSALE_ORDER_SERVICE_PORT": str(port),
        "FLASHSALE_DEV_MODE": "true",
        **env,
    }
    process = subprocess.Popen([sys.executable, "-m", "order_service"], env=full_env, cwd=ROOT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(30)


@asynccontextmanager
async def up(port: int) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        for _ in range(300):
            try:
                if (await client.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        else:
            raise TimeoutError("order service did not start")
        yield client


async def test_killed_services_pending_reservations_are_republished_after_restart(
    infra: InfraSettings,
) -> None:
    redis = Redis.from_url(infra.redis_url, decode_responses=True)
    topic = new_topic(infra.kafka_bootstrap, "crash")
    sale_id = await new_sale(redis, stock=10)
    keys = SaleKeys(sale_id)
    users = [random_user_id() for _ in range(4)]
    port = free_port()
    # Kafka "answers" nowhere (a closed port): every produce hangs, the window between
    # the reserve script and the ack stays open until the kill.
    dead_kafka = f"127.0.0.1:{free_port()}"
    hanging = {
        "FLASHSALE_ORDERS_TOPIC": topic,
        "FLASHSALE_KAFKA_BOOTSTRAP": dead_kafka,
        "FLASHSALE_KAFKA_DELIVERY_TIMEOUT_MS": "30000",
        "FLASHSALE_RECOVERY_AFTER_S": "60",
    }
    with order_service(infra, port, **hanging) as doomed:
        async with up(port) as client:
            requests = [
                asyncio.create_task(
                    client.post(f"/api/sales/{sale_id}/orders", json={"user_id": u})
                )
                for u in users
            ]
            async with asyncio.timeout(20):
                while await redis.hlen(keys.pending) < len(users):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(10)
            answers = await asyncio.gather(*requests, return_exceptions=True)
    assert all(isinstance(a, httpx.TransportError) for a in answers)  # nobody got a token
    pending = await redis.hgetall(keys.pending)
    assert len(pending) == len(users)
    buyers = await redis.hgetall(keys.buyers)

    recovering = {
        "FLASHSALE_ORDERS_TOPIC": topic,
        "FLASHSALE_RECOVERY_AFTER_S": "10",
        "FLASHSALE_RECOVERY_INTERVAL_S": "0.5",
    }
    with order_service(infra, port, **recovering):
        async with up(port) as client:
            # Not yet re-published (recovery waits 10 s): no id that may yet be voided.
            early = await client.post(f"/api/sales/{sale_id}/orders", json={"user_id": users[1]})
            assert (early.status_code, early.json()) == (503, {"error": "previous_attempt_pending"})
            events = events_of(infra.kafka_bootstrap, topic, expected=len(users), timeout=60)
            placed = {str(e.order_id): e.user_id for e in events if isinstance(e, OrderPlaced)}
            assert placed == {order_id: user for user, order_id in buyers.items()}
            assert len(events) == len(users)
            async with asyncio.timeout(20):
                while await redis.hlen(keys.pending):  # noqa: ASYNC110 - cleared after the ack
                    await asyncio.sleep(0.1)
            # The client whose request died learns its order id by retrying, once the
            # re-published order was acknowledged (before, it is told to come back).
            retry = await client.post(f"/api/sales/{sale_id}/orders", json={"user_id": users[0]})
            assert retry.status_code == 409
            assert retry.json() == {"error": "already_purchased", "order_id": buyers[users[0]]}
    assert await redis.get(keys.stock) == "6"
    await drop_sale(redis, sale_id)
    await redis.aclose()


async def test_ended_sales_with_nothing_left_to_publish_leave_the_recovery_scan(
    redis: Redis,
) -> None:
    now = datetime.now(UTC)
    sales = {name: random_sale_id(name) for name in ("ended", "void", "pending", "live", "lost")}
    for name, sale_id in sales.items():
        ended = now - timedelta(hours=3) if name != "live" else now + timedelta(hours=1)
        await load_sale(redis, sale_id, 5, ended - timedelta(hours=1), ended, 1)
    await redis.hset(SaleKeys(sales["void"]).voids, "o-1", "topic\n{}")
    await redis.hset(SaleKeys(sales["pending"]).pending, "o-2", "topic\n{}")
    lost = SaleKeys(sales["lost"])
    await redis.delete(lost.meta)  # meta gone, a void left: nobody knows when it ended
    await redis.hset(lost.voids, "o-3", "topic\n{}")
    cutoff_ms = int((now - timedelta(hours=1)).timestamp() * 1000)

    pruned = await RedisReservations(redis, 60, random_topic()).prune_ended(cutoff_ms)

    assert sales["ended"] in pruned  # other tests' ended sales may go too
    assert not set(pruned) & {sales[n] for n in ("void", "pending", "live", "lost")}
    listed = await redis.smismember(SALES_SET, list(sales.values()))
    assert dict(zip(sales, listed, strict=True)) == {
        "ended": 0,
        "void": 1,
        "pending": 1,
        "live": 1,
        "lost": 1,
    }
    assert await redis.get(SaleKeys(sales["ended"]).stock) == "5"  # its keys stay
    for sale_id in sales.values():
        await drop_sale(redis, sale_id)
