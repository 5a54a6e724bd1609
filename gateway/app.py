"""The gateway's ASGI app: bootstrap, then the stack. The raw edge (limiter.py: buckets,
sold out) in front of the raw /api/ proxy to the order service (proxy.py), and a small
FastAPI app for the waiting room and health checks."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response

from gateway.bootstrap import bootstrap
from gateway.limiter import RateLimiter
from gateway.ports import Upstream
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


def create_api(settings: GatewaySettings, upstream: Upstream) -> FastAPI:
    """The pages and the lifespan (the upstream pool). /api/ never reaches it: see proxy.py."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await upstream.start()
        yield
        await upstream.aclose()

    app = FastAPI(
        title="flashsale gateway", lifespan=lifespan, max_body_size=settings.max_body_bytes
    )
    unavailable = Response(
        b'{"error":"unavailable"}',
        status_code=503,
        media_type="application/json",
        headers={"Retry-After": str(settings.retry_after_s)},
    )

    @app.get("/", include_in_schema=False)
    @app.get("/waiting-room", summary="The waiting room page (static, cacheable)")
    async def waiting_room() -> Response:
        return Response(WAITING_ROOM, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(Exception)
    async def anything_else(request: Request, exc: Exception) -> Response:
        log.error("unavailable: %r", exc)
        return unavailable

    return app


def create_app(
    settings: GatewaySettings | None = None, *, upstream: Upstream | None = None
) -> RateLimiter:
    """The app factory uvicorn calls (`gateway.app:create_app`); tests pass a fake upstream."""
    gateway = bootstrap(settings or GatewaySettings(), upstream=upstream)
    settings = gateway.settings
    proxy = ApiProxy(
        gateway.upstream,
        gateway.admission,
        gateway.clients,
        settings.max_body_bytes,
        settings.retry_after_s,
    )
    return RateLimiter(
        Dispatch(proxy, create_api(settings, gateway.upstream)),
        gateway.clients,
        gateway.admission,
        max_body=settings.max_body_bytes,
        max_header=settings.max_header_bytes,
    )
