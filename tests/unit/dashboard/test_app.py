"""The dashboard's HTTP side in process over fake stores: the page, uPlot served from the
npm install (no CDN), and the samples as server-sent events."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from dashboard.app import STATIC, UPLOT, create_app
from dashboard.bootstrap import bootstrap
from dashboard.settings import DashboardSettings
from tests.polling import eventually_async
from tests.unit.dashboard.fakes import FakeSources

# httpx's ASGI transport hands over a response once it ended: SSE responses end quickly.
SETTINGS = DashboardSettings(
    FLASHSALE_DASHBOARD_SAMPLE_INTERVAL_S=0.02,
    FLASHSALE_DASHBOARD_CHECK_INTERVAL_S=0.05,
    FLASHSALE_DASHBOARD_STREAM_S=0.3,
)


def app_over(sources: FakeSources) -> FastAPI:
    s = sources
    board = bootstrap(
        SETTINGS, gateway=s.gateway, admission=s.admission, offsets=s.offsets, rows=s.rows,
        stock=s.stock, workers=s.workers, checks=s.checks, backpressure=s.backpressure,
    )  # fmt: skip
    return create_app(SETTINGS, board)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    client = httpx.AsyncClient(transport=transport, base_url="http://dashboard")
    async with app.router.lifespan_context(app), client:
        yield client


async def test_the_page_loads_its_scripts_from_this_server_only() -> None:
    async with running(app_over(FakeSources())) as client:
        page = await client.get("/")
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert "/static/uplot/uPlot.iife.min.js" in sources
        assert all(url.startswith("/static/") for url in sources), sources
        for url in sources:
            assert (await client.get(url)).status_code == 200, url


def test_uplot_is_installed_from_npm_at_the_pinned_version() -> None:
    package = orjson.loads((UPLOT.parent / "package.json").read_bytes())
    pinned = orjson.loads((STATIC.parent / "package.json").read_bytes())["dependencies"]
    assert package["version"] == pinned["uplot"]


async def test_samples_stream_as_server_sent_events() -> None:
    sources = FakeSources()
    sources.admission.values = {"reserved": 1}
    async with running(app_over(sources)) as client:
        await eventually_async(lambda: _samples(client, 2), 5, "two samples")
        events = await _first_events(client, 2)
    assert [e["id"] for e in events] == ["1", "2"]
    assert events[0]["data"]["workers"] == 1
    assert "inbound" in events[0]["data"]["rates"]


async def test_a_reconnecting_browser_resumes_after_its_last_event() -> None:
    async with running(app_over(FakeSources())) as client:
        await eventually_async(lambda: _samples(client, 3), 5, "three samples")
        events = await _first_events(client, 1, {"Last-Event-ID": "2"})
    assert events[0]["id"] == "3"


async def test_health_and_the_checks_on_the_samples() -> None:
    async with running(app_over(FakeSources())) as client:
        health = (await client.get("/healthz")).json()
        assert health["ok"] is True
        await eventually_async(lambda: _checked(client), 5, "a sample with the checks")


async def _samples(client: httpx.AsyncClient, at_least: int) -> bool:
    return len((await client.get("/samples")).json()) >= at_least


async def _checked(client: httpx.AsyncClient) -> bool:
    return any(s["checks"] for s in (await client.get("/samples")).json())


async def _first_events(
    client: httpx.AsyncClient, count: int, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The first `count` events of /events, parsed (id and JSON data)."""
    events: list[dict[str, Any]] = []
    async with client.stream("GET", "/events", headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        event: dict[str, Any] = {}
        async for line in response.aiter_lines():
            if line.startswith("id: "):
                event["id"] = line[4:]
            elif line.startswith("data: "):
                event["data"] = orjson.loads(line[6:])
            elif line == "" and event:
                events.append(event)
                event = {}
                if len(events) == count:
                    break
    await asyncio.sleep(0)
    return events
