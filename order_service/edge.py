"""Raw ASGI middleware in front of FastAPI: the answers that must cost next to nothing.

- sold out: a POST to /api/sales/{S}/orders for a sale whose local flag is up gets a
  precomputed 409, with no framework, no body parsing and no Redis;
- soft limit: beyond `max_in_flight` API requests at once, a precomputed 503 +
  Retry-After at once, rather than a queue that grows until every client times out;
- body size: a declared Content-Length over `max_body_bytes` gets a 413 before anything
  reads it (FastAPI's own `max_body_size` stops a chunked body that grows too big).

Requests with an Idempotency-Key skip the sold-out shortcut: their key may hold an
earlier 202, which must be answered again (the handler looks it up first).
"""

from __future__ import annotations

from typing import Any

from order_service.soldout import SoldOutFlags

__all__ = ["OrderEdge", "precomputed"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Any
Send = Any
ASGIApp = Any

ORDERS_PREFIX = "/api/sales/"
ORDERS_SUFFIX = "/orders"


def precomputed(status: int, body: bytes, *headers: tuple[bytes, bytes]) -> tuple[Message, Message]:
    """The two ASGI messages of a fixed JSON answer, built once at start."""
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class OrderEdge:
    def __init__(
        self,
        app: ASGIApp,
        flags: SoldOutFlags,
        max_in_flight: int,
        retry_after_s: int,
        max_body: int,
    ) -> None:
        self.app = app
        self.flags = flags
        self.max_in_flight = max_in_flight
        self.max_body = max_body
        self.in_flight = 0
        retry = (b"retry-after", str(retry_after_s).encode())
        self.sold_out = precomputed(409, b'{"error":"sold_out"}')
        self.overloaded = precomputed(503, b'{"error":"overloaded"}', retry)
        self.too_large = precomputed(413, b'{"error":"body_too_large"}', (b"connection", b"close"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if (
            scope["method"] == "POST"
            and path.startswith(ORDERS_PREFIX)
            and path.endswith(ORDERS_SUFFIX)
            and self.flags.is_sold_out(path[len(ORDERS_PREFIX) : -len(ORDERS_SUFFIX)])
            and not _has_header(scope, b"idempotency-key")
        ):
            await _answer(send, self.sold_out)
            return
        if self.in_flight >= self.max_in_flight:
            await _answer(send, self.overloaded)
            return
        if _declared_length(scope) > self.max_body:
            await _answer(send, self.too_large)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


async def _answer(send: Send, answer: tuple[Message, Message]) -> None:
    await send(answer[0])
    await send(answer[1])


def _has_header(scope: Scope, name: bytes) -> bool:
    return any(key == name for key, _ in scope["headers"])


def _declared_length(scope: Scope) -> int:
    for key, value in scope["headers"]:
        if key == b"content-length":
            return int(value) if value.isdigit() else 1 << 62
    return 0
