"""The assembled ASGI stack over a fake upstream, in process: pages, lifespan, /api/."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app
from gateway.ports import UpstreamReply
from gateway.settings import GatewaySettings
from tests.polling import eventually_async
from tests.unit.gateway.fakes import FakeLagReader, FakeUpstream


@asynccontextmanager
async def running(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app's lifespan around an in-process client (what uvicorn does, minus sockets)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    lifespan = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client
    await inbox.put({"type": "lifespan.shutdown"})
    assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
    await lifespan


async def test_the_stack_over_a_fake_order_service() -> None:
    upstream = FakeUpstream(UpstreamReply(409, b'{"error":"sold_out"}', {}))
    app = create_app(GatewaySettings(client_rate=0.1, client_burst=2), upstream=upstream)
    async with running(app) as client:
        assert upstream.started  # the lifespan opened the pool
        page = await client.get("/waiting-room")
        assert page.status_code == 200 and "public" in page.headers["cache-control"]
        assert (await client.get("/")).content == page.content
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        first = await client.post("/api/sales/s1/orders", json={"user_id": "u"})
        assert (first.status_code, first.json()) == (409, {"error": "sold_out"})
        again = await client.post("/api/sales/s1/orders", json={"user_id": "u"})
        assert again.status_code == 409  # the edge's answer: no token spent, not forwarded
        other = await client.post("/api/sales/s2/orders", json={"user_id": "u"})
        assert other.status_code == 409
        limited = await client.post("/api/sales/s3/orders", json={"user_id": "u"})
        assert (limited.status_code, limited.headers["retry-after"]) == (429, "10")
    assert upstream.closed
    forwarded = [path for _, path, *_ in upstream.sent]
    assert forwarded == ["/api/sales/s1/orders", "/api/sales/s2/orders"]


async def test_metrics_are_never_limited_and_count_the_api_outcomes() -> None:
    app = create_app(GatewaySettings(client_rate=0.1, client_burst=1), upstream=FakeUpstream())
    async with running(app) as client:
        assert (await client.post("/api/sales/s1/orders", json={})).status_code == 202
        assert (await client.post("/api/sales/s1/orders", json={})).status_code == 429
        for _ in range(3):  # /metrics is not under /api/: no bucket applies
            scrape = await client.get("/metrics")
            assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, s.labels.get("outcome")): s.value
        for family in text_string_to_metric_families(scrape.text)
        for s in family.samples
    }
    assert samples[("flashsale_gateway_requests_total", "forwarded")] == 1
    assert samples[("flashsale_gateway_requests_total", "rate_limited")] == 1
    assert samples[("flashsale_gateway_global_rate", None)] == 2000
    assert samples[("flashsale_gateway_backpressure", None)] == 0
    assert 499 <= samples[("flashsale_gateway_bucket_tokens", None)] <= 500  # refilled at once


async def test_the_lifespan_runs_the_lag_watcher_and_closes_its_reader() -> None:
    reader = FakeLagReader(90_000)
    settings = GatewaySettings(global_rate=1000, lag_poll_s=0.01)
    app = create_app(settings, upstream=FakeUpstream(), lag_reader=reader)
    async with running(app) as client:
        await eventually_async(lambda: reader.reads > 0, 5, "a reading of the lag")
        text = (await client.get("/metrics")).text
        assert "flashsale_gateway_backpressure 1.0" in text
        assert "flashsale_gateway_global_rate 250.0" in text
    assert reader.closed
