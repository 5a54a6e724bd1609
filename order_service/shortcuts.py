"""Raw ASGI middleware in front of FastAPI: the answers that must cost next to nothing.

- sold out: a POST to /api/sales/{S}/orders for a sale whose local flag is up gets a
  precomputed 409, with no framework, no body parsing and no Redis;
- soft limit: beyond `max_in_flight` API requests at once, a precomputed 503 +
  Retry-After at once, rather than a queue that grows until every client times out;
- header size: names plus values over `max_header_bytes` get a 431 (uvicorn's httptools
  parser bounds nothing: a 65 KB header would reach the framework);
- body size: a declared Content-Length over `max_body_bytes` gets a 413 before anything
  reads it (FastAPI's own `max_body_size` stops a chunked body that grows too big).

Requests with an Idempotency-Key skip the sold-out shortcut: their key may hold an
earlier 202, which must be answered again (the handler looks it up first).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from flashsale.asgi import answer, is_sold_out_order, oversized, precomputed
from order_service.soldout import StockChannelFlags

__all__ = ["FastAnswers"]


class FastAnswers:
    def __init__(
        self,
        app: ASGIApp,
        flags: StockChannelFlags,
        max_in_flight: int,
        retry_after_s: int,
        max_body: int,
        max_header: int = 8192,
        on_sold_out: Callable[[], None] = lambda: None,
    ) -> None:
        self.app = app
        self.flags = flags
        self.max_in_flight = max_in_flight
        self.max_body = max_body
        self.max_header = max_header
        self.in_flight = 0
        # A pre-bound counter's inc (telemetry.py): the only metrics work of this path.
        self.on_sold_out = on_sold_out
        retry = (b"retry-after", str(retry_after_s).encode())
        self.sold_out = precomputed(409, b'{"error":"sold_out"}')
        self.overloaded = precomputed(503, b'{"error":"overloaded"}', retry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        if is_sold_out_order(scope, self.flags):
            self.on_sold_out()
            await answer(send, self.sold_out)
            return
        if self.in_flight >= self.max_in_flight:
            await answer(send, self.overloaded)
            return
        refusal = oversized(scope, self.max_header, self.max_body)
        if refusal is not None:
            await answer(send, refusal)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
