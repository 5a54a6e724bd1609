"""POST /api/sales/{sale_id}/orders as raw ASGI: the admission path without the framework.

Every buyer's request takes this path until the stock is gone, and FastAPI's routing,
dependency injection and response classes cost more per request than the admission's own
work (profiled: about a third of the order service's CPU under load). So this route reads
the body, validates it with the same pydantic model, calls the same handler and writes
the same answer as `orders.place_order`, with nothing in between.

The FastAPI route stays: it documents the operation in OpenAPI, and it answers every
request this layer does not take. A body, header or path that does not validate is
replayed to it as received, so each refusal is the framework's own 422 or 413, exactly
as documented; only valid requests skip it.
"""

from __future__ import annotations

import logging
import re

import orjson
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flashsale.asgi import order_sale_id
from flashsale.contracts import SALE_ID_PATTERN, PlaceOrder
from order_service import handlers
from order_service.handlers import Answer, Deps
from order_service.routes.orders import IDEMPOTENCY_KEY_PATTERN, PlaceOrderBody

__all__ = ["PurchaseRoute"]

log = logging.getLogger(__name__)

SALE_ID = re.compile(SALE_ID_PATTERN)
IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
# What this route reads: a JSON body (FastAPI refuses one without a content type), the
# Idempotency-Key, and the buyer the gateway vouches for.
JSON_TYPE = "application/json"
Parsed = tuple[PlaceOrder, str | None, str | None]  # command, idempotency key, identity


class PurchaseRoute:
    def __init__(self, api: ASGIApp, deps: Deps, max_body: int, retry_after_s: int) -> None:
        self.api = api
        self.deps = deps
        self.max_body = max_body
        self.retry_after_s = retry_after_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sale_id = order_sale_id(scope["path"]) if scope["type"] == "http" else None
        if sale_id is None or scope["method"] != "POST":
            await self.api(scope, receive, send)
            return
        body = await read_body(receive, self.max_body)
        if body is None:  # the client left before its body arrived
            return
        parsed = parse(sale_id, scope["headers"], body)
        if parsed is None:  # the framework refuses it, in its documented shape
            await self.api(scope, replay(body, receive), send)
            return
        await send_answer(send, await self._place(*parsed))

    async def _place(self, command: PlaceOrder, key: str | None, identity: str | None) -> Answer:
        try:
            return await handlers.place_order(command, key, self.deps, identity)
        except Exception as exc:  # a store failed: our trouble, the one 5xx is a 503
            log.error("unavailable: %r", exc)
            return Answer(503, {"error": "unavailable"}, retry_after=self.retry_after_s)


async def read_body(receive: Receive, max_body: int) -> bytes | None:
    """The whole body; past `max_body` it stops reading (the framework answers 413)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False) or size > max_body:
            return b"".join(chunks)


def parse(sale_id: str, headers: list[tuple[bytes, bytes]], body: bytes) -> Parsed | None:
    """The command this request asks for, or None when anything does not validate."""
    named = first_headers(headers)
    content_type = named.get(b"content-type")
    if content_type is None or not content_type.startswith(JSON_TYPE):
        return None
    key = named.get(b"idempotency-key")
    if not SALE_ID.match(sale_id) or (key is not None and not IDEMPOTENCY_KEY.match(key)):
        return None
    try:
        fields = PlaceOrderBody.model_validate_json(body)
    except ValidationError:
        return None
    # Validated again, on purpose: pydantic's model_construct is slower than validation
    # for a model with default factories (it inspects each factory's signature per call).
    command = PlaceOrder(sale_id=sale_id, user_id=fields.user_id, quantity=fields.quantity)
    return command, key, named.get(b"x-authenticated-user")


WANTED = frozenset((b"content-type", b"idempotency-key", b"x-authenticated-user"))


def first_headers(headers: list[tuple[bytes, bytes]]) -> dict[bytes, str]:
    """The first value of each header this route reads, as the framework would take it."""
    named: dict[bytes, str] = {}
    for name, value in headers:
        if name in WANTED and name not in named:
            named[name] = value.decode("latin-1")
    return named


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body already read, then waits on the client again."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def send_answer(send: Send, answer: Answer) -> None:
    body = orjson.dumps(answer.body)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if answer.retry_after is not None:
        headers.append((b"retry-after", b"%d" % answer.retry_after))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
