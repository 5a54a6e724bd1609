"""The coupled checkout's downstream services, as stubs: inventory, payment and logistics
answer after 200, 500 and 300 ms, the article's figures.

The wait is an `asyncio.sleep`, so one stub process holds thousands of calls at once and
the stubs are never what limits the coupled checkout: its own design is.

Run: `uvicorn loadtests.stubs:app`; POST /inventory, /payment or /logistics.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

DELAYS_S = {"/inventory": 0.2, "/payment": 0.5, "/logistics": 0.3}
OK = b'{"ok":true}'


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return  # lifespan: nothing to set up
    delay = DELAYS_S.get(scope["path"])
    if delay is not None:
        await asyncio.sleep(delay)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"11")]
    await send({"type": "http.response.start", "status": 200 if delay else 404, "headers": headers})
    await send({"type": "http.response.body", "body": OK})


def create_app() -> ASGIApp:
    """The factory `loadtests.serve` runs (every bench server is started the same way)."""
    return app
