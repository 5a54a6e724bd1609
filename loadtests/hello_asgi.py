"""The yardstick: a bare ASGI hello, no framework. Every bench row is a ratio to it."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp

START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"17")],
}
BODY = {"type": "http.response.body", "body": b'{"hello":"world"}'}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return  # lifespan: nothing to set up
    await send(START)
    await send(BODY)


def create_app() -> ASGIApp:
    """The factory `loadtests.serve` runs (every bench server is started the same way)."""
    return app
