"""What the raw ASGI layers of the gateway and the order service share: fixed answers built
once at start, the order path's sale id, sold-out flags with a TTL, and the size checks.

The paths that carry most of a flash sale's traffic (rate limited, sold out) are answered
here, before any framework, validation or I/O: a dict lookup and two prebuilt messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from starlette.types import Message, Scope, Send

__all__ = [
    "HEADERS_TOO_LARGE",
    "TOO_LARGE",
    "Prebuilt",
    "SoldOutFlags",
    "answer",
    "declared_length",
    "headers_over",
    "is_sold_out_order",
    "is_sold_out_purchase",
    "order_sale_id",
    "oversized",
    "precomputed",
]

# A fixed answer: its two ASGI messages (start, body), built once at start.
Prebuilt = tuple[Message, Message]
ORDERS_PREFIX = "/api/sales/"
ORDERS_SUFFIX = "/orders"
IDEMPOTENCY_KEY = b"idempotency-key"


def precomputed(status: int, body: bytes, *headers: tuple[bytes, bytes]) -> Prebuilt:
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


# Answered before the body is read when the declared Content-Length is over the limit.
TOO_LARGE = precomputed(413, b'{"error":"body_too_large"}', (b"connection", b"close"))
# Answered when the request's headers (names plus values) are over the limit: the server
# has already read them, but nothing past the edge parses or copies them.
HEADERS_TOO_LARGE = precomputed(431, b'{"error":"headers_too_large"}', (b"connection", b"close"))


def order_sale_id(path: str) -> str | None:
    """The sale id of `/api/sales/{sale_id}/orders`, or None for any other path."""
    if path.startswith(ORDERS_PREFIX) and path.endswith(ORDERS_SUFFIX):
        return path[len(ORDERS_PREFIX) : -len(ORDERS_SUFFIX)] or None
    return None


class SoldOutFlags:
    """Per-sale sold-out flags, believed for `ttl_s` after they were last confirmed.

    Stock can come back (voids, expiry), so a flag is never final: when it expires one
    caller goes to ask (and marks or clears with the answer) while the others keep the
    cheap answer meanwhile, instead of all asking at once.
    """

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._until: dict[str, float] = {}  # sale id -> when the flag expires

    def is_sold_out(self, sale_id: str) -> bool:
        until = self._until.get(sale_id)
        if until is None:
            return False
        now = self._clock()
        if now < until:
            return True
        self._until[sale_id] = now + self._ttl_s
        return False

    def mark(self, sale_id: str) -> None:
        self._until[sale_id] = self._clock() + self._ttl_s

    def clear(self, sale_id: str) -> None:
        self._until.pop(sale_id, None)


def headers_over(scope: Scope, limit: int) -> bool:
    """Do the request's header names and values add up to more than `limit` bytes?"""
    size = 0
    for name, value in scope["headers"]:
        size += len(name) + len(value)
    return size > limit


def declared_length(scope: Scope) -> int:
    """The Content-Length the client declared; an unreadable one counts as too large."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 1 << 62
    return 0


def oversized(scope: Scope, max_header: int, max_body: int) -> Prebuilt | None:
    """The 431 or 413 for headers or a declared body over their limit, else None."""
    if headers_over(scope, max_header):
        return HEADERS_TOO_LARGE
    if declared_length(scope) > max_body:
        return TOO_LARGE
    return None


def is_sold_out_order(scope: Scope, flags: SoldOutFlags) -> bool:
    """A purchase of a flagged sale, which an edge may answer `sold_out` by itself."""
    return is_sold_out_purchase(scope["method"], scope["path"], scope["headers"], flags)


def is_sold_out_purchase(
    method: str, path: str, headers: Iterable[tuple[bytes, bytes]], flags: SoldOutFlags
) -> bool:
    """The same from the request's parts. A request with an Idempotency-Key goes through:
    its stored answer may be a 202."""
    if method != "POST":
        return False
    sale_id = order_sale_id(path)
    if sale_id is None:
        return False
    # A plain loop: a generator inside any() costs more than the scan on the hot path.
    for name, _ in headers:
        if name == IDEMPOTENCY_KEY:
            return False
    return flags.is_sold_out(sale_id)


async def answer(send: Send, messages: Prebuilt) -> None:
    await send(messages[0])
    await send(messages[1])
