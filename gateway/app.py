"""The gateway's ASGI app: bootstrap, then the stack. The raw edge (limiter.py: buckets,
sold out) in front of the raw /api/ proxy to the order service (proxy.py), and a small
FastAPI app for the waiting room, health checks, /metrics and the lifespan (the upstream
pool, and the backpressure loop when a lag Redis is configured)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.types import ASGIApp

from flashsale.cancellation import STOP_TASKS_S, stop_tasks
from gateway.backpressure import watch_lag
from gateway.bootstrap import Gateway, bootstrap
from gateway.limiter import RateLimiter
from gateway.openapi import publish_api
from gateway.ports import LagReader, Upstream
from gateway.proof_of_work import ProofGate, proofs_from
from gateway.proxy import ApiProxy, Dispatch
from gateway.settings import GatewaySettings

__all__ = ["create_app"]

log = logging.getLogger(__name__)
WAITING_ROOM = (Path(__file__).parent / "static" / "waiting-room.html").read_bytes()
# The page is the same for everyone: browsers and CDNs keep it, the gateway barely sees it.
PAGE_HEADERS = {
    "Cache-Control": "public, max-age=300",
    "ETag": f'"{hashlib.sha256(WAITING_ROOM).hexdigest()[:16]}"',
}


@asynccontextmanager
async def running(gateway: Gateway) -> AsyncIterator[None]:
    """What lives as long as the app: the upstream pool, and the lag watcher if any."""
    await gateway.upstream.start()
    reader, backpressure = gateway.lag_reader, gateway.backpressure
    watcher = None
    if reader is not None and backpressure is not None:
        poll_s = gateway.settings.lag_poll_s
        watcher = asyncio.create_task(watch_lag(reader, backpressure, poll_s))
    try:
        yield
    finally:
        if watcher is not None:
            await stop_tasks([watcher], STOP_TASKS_S)
        if reader is not None:
            await reader.aclose()
        await gateway.upstream.aclose()


def create_api(gateway: Gateway) -> FastAPI:
    """Pages, /metrics and the lifespan. /api/ never reaches it: see proxy.py."""
    settings = gateway.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running(gateway):
            yield

    app = FastAPI(
        title="flashsale gateway",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
        openapi_url=None,  # served by openapi.py: ours merged with the order service's
    )
    unavailable = _unavailable(settings.retry_after_s)

    @app.get("/", include_in_schema=False)
    @app.get("/waiting-room", response_class=HTMLResponse, summary="The waiting room page")
    async def waiting_room() -> Response:
        return Response(WAITING_ROOM, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body, content_type = gateway.metrics.exposition()
        return Response(body, media_type=content_type)

    @app.exception_handler(Exception)
    async def anything_else(request: Request, exc: Exception) -> Response:
        log.error("unavailable: %r", exc)
        return unavailable

    return app


def _unavailable(retry_after_s: int) -> Response:
    return Response(
        b'{"error":"unavailable"}',
        status_code=503,
        media_type="application/json",
        headers={"Retry-After": str(retry_after_s)},
    )


def create_app(
    settings: GatewaySettings | None = None,
    *,
    upstream: Upstream | None = None,
    lag_reader: LagReader | None = None,
) -> ASGIApp:
    """The app factory uvicorn calls (`gateway.app:create_app`); tests pass fakes."""
    gateway = bootstrap(settings or GatewaySettings(), upstream=upstream, lag_reader=lag_reader)
    settings = gateway.settings
    outcomes = gateway.metrics.outcomes
    api = create_api(gateway)
    proofs = proofs_from(settings)
    publish_api(api, gateway, proofs)
    proxy = ApiProxy(
        gateway.upstream,
        gateway.admission,
        gateway.clients,
        outcomes,
        settings.max_body_bytes,
        settings.retry_after_s,
        proofs,
    )
    limited = RateLimiter(
        Dispatch(proxy, api),
        gateway.clients,
        gateway.admission,
        outcomes,
        max_body=settings.max_body_bytes,
        max_header=settings.max_header_bytes,
    )
    # The proof of work goes first: a purchase without one spends no bucket token.
    return limited if proofs is None else ProofGate(limited, proofs, outcomes.no_proof)
