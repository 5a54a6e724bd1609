"""The dashboard's ASGI app: the page, its scripts and uPlot (served from the npm install
in dashboard/node_modules, never from a CDN), and the samples as server-sent events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Header
from fastapi.responses import FileResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from fastapi.staticfiles import StaticFiles

from dashboard.bootstrap import Dashboard, bootstrap
from dashboard.settings import DashboardSettings

__all__ = ["STATIC", "UPLOT", "create_app"]

HERE = Path(__file__).parent
STATIC = HERE / "static"
UPLOT = HERE / "node_modules" / "uplot" / "dist"  # `npm ci --prefix dashboard`
# Milliseconds a browser waits to reconnect when an SSE response ends (settings.stream_s).
RECONNECT_MS = 250


def create_app(
    settings: DashboardSettings | None = None, dashboard: Dashboard | None = None
) -> FastAPI:
    settings = settings or DashboardSettings()
    board = dashboard or bootstrap(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await board.start()
        try:
            yield
        finally:
            await board.stop()

    app = FastAPI(title="flashsale dashboard", lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"ok": True, "samples": len(board.hub.recent), "watchers": board.hub.subscribers}

    @app.get("/samples")
    async def samples() -> list[dict[str, Any]]:
        """The recent samples as JSON: what a script (or a test) reads without SSE."""
        return [sample for _, sample in board.hub.recent]

    @app.get("/events", response_class=EventSourceResponse)
    async def events(
        last_event_id: Annotated[int | None, Header()] = None,
    ) -> AsyncIterator[ServerSentEvent]:
        async for number, sample in board.hub.stream(last_event_id, settings.stream_s):
            yield ServerSentEvent(data=sample, id=str(number), retry=RECONNECT_MS)

    # The more specific mount first: /static/uplot/ is the npm package's dist/.
    app.mount("/static/uplot", StaticFiles(directory=UPLOT, check_dir=False), name="uplot")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
