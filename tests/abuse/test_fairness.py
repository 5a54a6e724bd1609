"""Fairness (OWASP API6, unrestricted access to sensitive business flows): one client
hammering on 50 connections gets no more than its bucket's share, while 50 other clients
buy at the same time. Through the real gateway process, with its per-client bucket, in
front of the real order service; the test is the trusted proxy that names each client."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from redis import Redis

from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys
from tests.abuse.edges import create_sale_over_http, running_edges, service_env
from tests.random_refs import random_sale_id, random_user_id

pytestmark = [pytest.mark.integration, pytest.mark.faults]

RATE, BURST = 2.0, 5  # the gateway's per-client defaults
HOG_SECONDS = 4.0


async def hog(url: str) -> tuple[int, int, float]:
    """One client (one address) on 50 connections, a new user id per request: how many
    of its requests passed the edge, how many were 429, over how many seconds."""
    limits = httpx.Limits(max_connections=50)
    passed = limited = 0
    started = time.monotonic()
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def connection() -> None:
            nonlocal passed, limited
            while time.monotonic() - started < HOG_SECONDS:
                answer = await client.post(
                    url, json={"user_id": random_user_id("hog")},
                    headers={"X-Forwarded-For": "10.66.66.66"},
                )  # fmt: skip
                if answer.status_code == 429:
                    limited += 1
                else:
                    passed += 1

        await asyncio.gather(*(connection() for _ in range(50)))
    return passed, limited, time.monotonic() - started


async def buyer(client: httpx.AsyncClient, url: str, n: int) -> int:
    """One fair client: its own address, one purchase, retried as Retry-After says."""
    for _ in range(20):
        answer = await client.post(
            url, json={"user_id": f"fair-{n}"}, headers={"X-Forwarded-For": f"10.1.0.{n}"}
        )
        if answer.status_code not in (429, 503):
            return answer.status_code
        await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
    return answer.status_code


async def sale_under_siege(url: str) -> tuple[tuple[int, int, float], list[int]]:
    async with httpx.AsyncClient(timeout=10) as client:
        hogging = asyncio.create_task(hog(url))
        await asyncio.sleep(0.5)  # the hog is in full swing before the others come
        statuses = await asyncio.gather(*(buyer(client, url, n) for n in range(50)))
        return await hogging, list(statuses)


def test_one_client_on_50_connections_gets_its_share_while_50_others_buy(
    infra: InfraSettings, tmp_path: Path, redis_client: Redis
) -> None:
    env = service_env(infra)
    sale_id = random_sale_id("fair")
    trusted = {"FLASHSALE_GATEWAY_TRUSTED_PROXIES": '["127.0.0.1"]'}
    with running_edges(env, tmp_path, **trusted) as (gateway, orders):
        create_sale_over_http(orders.url, env["FLASHSALE_ADMIN_TOKEN"], sale_id, 100)
        url = f"{gateway.url}/api/sales/{sale_id}/orders"
        (passed, limited, seconds), statuses = asyncio.run(sale_under_siege(url))
    share = BURST + RATE * seconds + 1  # the bucket's burst, its rate, one in flight
    print(f"hog: {passed} passed, {limited} limited in {seconds:.1f} s (share {share:.0f})")
    assert limited > 5 * share, "the hog did not hammer"
    assert passed <= share
    assert statuses == [202] * 50
    buyers = redis_client.hkeys(SaleKeys(sale_id).buyers)
    assert sum(1 for b in buyers if b.startswith("user-hog")) == passed
    assert {f"fair-{n}" for n in range(50)} <= set(buyers)
