"""Backpressure and /metrics of the real gateway (served over HTTP in the test's loop),
reading the consumers' lag from the real Redis: a lag over the high-water mark lowers the
global rate (more 429s for the same offered load), one under the low-water mark restores it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from starlette.types import Receive, Scope, Send

from flashsale.metric_catalog import families_of
from flashsale.settings import InfraSettings
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from tests.asgi_server import serve
from tests.polling import eventually_async
from tests.random_refs import suffix

pytestmark = pytest.mark.integration

RATE, BURST, FACTOR = 100.0, 10, 0.2
HIGH, LOW = 50_000, 10_000
WINDOW_S = 1.0


async def order_service(scope: Scope, receive: Receive, send: Send) -> None:
    """A stand-in that admits everything at once: only the gateway's limits count here."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def settings(order_url: str, redis_url: str, lag_key: str) -> GatewaySettings:
    return GatewaySettings(
        order_service_url=order_url,
        global_rate=RATE,
        global_burst=BURST,
        client_rate=100_000,  # one client offers the whole load: only the global bucket limits
        client_burst=100_000,
        lag_redis_url=redis_url,
        lag_key=lag_key,
        backpressure_high_lag=HIGH,
        backpressure_low_lag=LOW,
        backpressure_factor=FACTOR,
        lag_poll_s=0.05,
    )


async def gauges(client: httpx.AsyncClient) -> dict[str, float]:
    scrape = await client.get("/metrics")
    assert scrape.status_code == 200
    return {
        s.name: s.value
        for family in text_string_to_metric_families(scrape.text)
        for s in family.samples
        if not s.labels
    }


async def until_gauges(client: httpx.AsyncClient, **expected: float) -> None:
    async def holds() -> bool:
        now = await gauges(client)
        return all(now[f"flashsale_gateway_{name}"] == v for name, v in expected.items())

    await eventually_async(holds, 10, f"gauges {expected}", every_s=0.05)


async def admitted_in_a_window(client: httpx.AsyncClient) -> Counter[int]:
    """The same offered load each time (well over the normal rate), from a full bucket."""
    await eventually_async(lambda: _full(client), 10, "the global bucket to refill", every_s=0.05)
    statuses: Counter[int] = Counter()
    deadline = time.monotonic() + WINDOW_S

    async def buyer() -> None:
        while time.monotonic() < deadline:
            statuses[(await client.get("/api/sales/bp")).status_code] += 1

    await asyncio.gather(*(buyer() for _ in range(8)))
    return statuses


def refused_share(statuses: Counter[int]) -> float:
    return statuses[429] / statuses.total()


async def _full(client: httpx.AsyncClient) -> bool:
    return (await gauges(client))["flashsale_gateway_bucket_tokens"] >= BURST - 0.5


async def test_a_lag_over_the_mark_lowers_the_rate_and_under_the_low_mark_restores_it(
    infra: InfraSettings, redis: Redis
) -> None:
    lag_key = f"flashsale:lag:test-{suffix()}"
    async with (
        serve(order_service) as order_url,
        serve(create_gateway(settings(order_url, infra.redis_url, lag_key))) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        # No lag published yet: unknown, the rate stays normal.
        await until_gauges(client, backpressure=0, global_rate=RATE)
        normal = await admitted_in_a_window(client)
        assert normal[429] > 0  # the offered load is over the rate

        await redis.set(lag_key, HIGH + 1, ex=30)
        await until_gauges(client, backpressure=1, global_rate=RATE * FACTOR)
        await redis.set(lag_key, (HIGH + LOW) // 2, ex=30)  # between the marks: held
        lowered = await admitted_in_a_window(client)
        assert (await gauges(client))["flashsale_gateway_backpressure"] == 1

        await redis.set(lag_key, LOW - 1, ex=30)
        await until_gauges(client, backpressure=0, global_rate=RATE)
        restored = await admitted_in_a_window(client)
    await redis.delete(lag_key)
    # Each window admits about a burst plus a second of the rate: ~110, ~30, ~110.
    assert lowered[200] < normal[200] / 2 and lowered[200] < restored[200] / 2
    # The offered load varies with the machine's: the share refused, not the count.
    assert refused_share(lowered) > refused_share(normal)
    assert BURST + RATE * FACTOR * WINDOW_S * 0.5 <= lowered[200] <= BURST + RATE * 0.5


async def test_metrics_parse_and_list_every_gateway_family(infra: InfraSettings) -> None:
    lag_key = f"flashsale:lag:test-{suffix()}"  # never written: the lag stays unknown
    async with (
        serve(order_service) as order_url,
        serve(create_gateway(settings(order_url, infra.redis_url, lag_key))) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        assert (await client.get("/api/sales/bp")).status_code == 200
        scrape = await client.get("/metrics")
    names = {family.name for family in text_string_to_metric_families(scrape.text)}
    # The parser names a counter's family without its _total suffix.
    assert {f.name.removesuffix("_total") for f in families_of("gateway")} <= names
    forwarded = 'flashsale_gateway_requests_total{outcome="forwarded"} 1.0'
    assert forwarded in scrape.text
