"""The gateway's ASGI entry point: the raw edge middleware in front of a small FastAPI app
that serves the waiting room and forwards admitted requests to the order service."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from redis.asyncio import Redis

from flashsale.edge import SoldOutFlags
from gateway.bucket import KeyedBuckets, Rate, TokenBucket
from gateway.clients import ClientKeys
from gateway.edge import GatewayEdge
from gateway.forward import Upstream, UpstreamDown, UpstreamReply
from gateway.settings import GatewaySettings
from gateway.shared_bucket import SharedBucket

__all__ = ["create_app"]

log = logging.getLogger(__name__)
WAITING_ROOM = (Path(__file__).parent / "static" / "waiting-room.html").read_bytes()
# The page is the same for everyone: browsers and CDNs keep it, the gateway barely sees it.
PAGE_HEADERS = {
    "Cache-Control": "public, max-age=300",
    "ETag": f'"{hashlib.sha256(WAITING_ROOM).hexdigest()[:16]}"',
}


def create_api(settings: GatewaySettings, upstream: Upstream, sold_out: SoldOutFlags) -> FastAPI:
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

    def reply(answer: UpstreamReply) -> Response:
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    @app.get("/", include_in_schema=False)
    @app.get("/waiting-room", summary="The waiting room page (static, cacheable)")
    async def waiting_room() -> Response:
        return Response(WAITING_ROOM, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/sales/{sale_id}/orders", summary="Forwarded to the order service")
    async def place_order(sale_id: str, request: Request) -> Response:
        path = f"/api/sales/{quote(sale_id, safe='')}/orders"
        answer = await upstream.forward("POST", path, await request.body(), dict(request.headers))
        if answer.status == 409 and _is_sold_out(answer.body):
            sold_out.mark(sale_id)
        elif answer.status in (202, 409, 422):  # the sale answered: it is not sold out
            sold_out.clear(sale_id)
        return reply(answer)

    @app.get("/api/orders/{order_id}", summary="Forwarded to the order service")
    async def order_status(order_id: str, request: Request) -> Response:
        path = f"/api/orders/{quote(order_id, safe='')}"
        return reply(await upstream.forward("GET", path, b"", dict(request.headers)))

    @app.post("/api/orders/{order_id}/payment", summary="Forwarded to the order service")
    async def pay_order(order_id: str, request: Request) -> Response:
        path = f"/api/orders/{quote(order_id, safe='')}/payment"
        return reply(
            await upstream.forward("POST", path, await request.body(), dict(request.headers))
        )

    @app.exception_handler(UpstreamDown)
    async def upstream_down(request: Request, exc: UpstreamDown) -> Response:
        log.warning("order service unavailable: %s", exc)
        return unavailable

    @app.exception_handler(Exception)
    async def anything_else(request: Request, exc: Exception) -> Response:
        log.error("unavailable: %r", exc)
        return unavailable

    return app


def _is_sold_out(body: bytes) -> bool:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(parsed, dict) and parsed.get("error") == "sold_out"


def create_app(
    settings: GatewaySettings | None = None, upstream: Upstream | None = None
) -> GatewayEdge:
    settings = settings or GatewaySettings()
    sold_out = SoldOutFlags(settings.sold_out_ttl_s)
    global_rate = Rate(settings.global_rate, settings.global_burst)
    shared = None
    if settings.shared_bucket_redis_url:
        redis = Redis.from_url(settings.shared_bucket_redis_url)
        shared = SharedBucket(redis, settings.shared_bucket_key, global_rate)
    return GatewayEdge(
        create_api(settings, upstream or Upstream(settings), sold_out),
        ClientKeys(settings.trusted_proxies),
        KeyedBuckets(Rate(settings.client_rate, settings.client_burst), settings.max_clients),
        TokenBucket(global_rate),
        sold_out,
        max_body=settings.max_body_bytes,
        shared=shared,
    )
