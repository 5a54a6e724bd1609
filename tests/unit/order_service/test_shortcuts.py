"""The order service's raw ASGI edge: the header cap, behind the cheap sold-out answer."""

from __future__ import annotations

from typing import Any

from order_service.shortcuts import FastAnswers
from order_service.soldout import StockChannelFlags
from tests.unit.order_service.fakes import FakeClock


class App:
    """What sits behind the edge: counts what got through."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls += 1
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def call(edge: FastAnswers, *headers: tuple[bytes, bytes]) -> tuple[int, dict[bytes, bytes]]:
    scope = {"type": "http", "method": "POST", "path": "/api/sales/s1/orders"}
    scope["headers"] = list(headers)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await edge(scope, None, send)
    return sent[0]["status"], dict(sent[0]["headers"])


async def test_headers_over_the_cap_are_431_and_close_the_connection() -> None:
    app = App()
    edge = FastAnswers(
        app, StockChannelFlags(1.0, FakeClock()), 10, 1, max_body=4096, max_header=8192
    )
    huge = (b"x-padding", b"a" * 65_536)
    status, headers = await call(edge, (b"content-type", b"application/json"), huge)
    assert (status, headers[b"connection"]) == (431, b"close")
    many = [(b"x-h%d" % i, b"v" * 100) for i in range(100)]  # 10 KB in small pieces
    assert (await call(edge, *many))[0] == 431
    normal = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
    assert (await call(edge, *normal, (b"x-fill", b"v" * (8192 - 64))))[0] == 202
    assert app.calls == 1


async def test_sold_out_is_still_answered_first_and_for_nothing() -> None:
    app = App()
    flags = StockChannelFlags(60.0, FakeClock())
    flags.mark("s1")
    edge = FastAnswers(app, flags, 10, 1, max_body=4096, max_header=8192)
    assert (await call(edge, (b"x-padding", b"a" * 65_536)))[0] == 409
    assert app.calls == 0
