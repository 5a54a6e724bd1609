"""serve_asgi's server freezes the heap once the app's lifespan has started, not before:
what the app builds at startup (its clients, its wiring) is then out of the collector's
reach, and a full collection no longer stalls every request in flight (process.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from flashsale import process

EVENTS: list[str] = []  # what happened, in order: the app's startup, the freeze


async def lifespan_app(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["type"] == "lifespan"
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            EVENTS.append("app started")
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


@contextlib.contextmanager
def _signals_left_to_pytest(_: uvicorn.Server) -> Iterator[None]:
    yield


async def test_the_heap_is_frozen_after_the_lifespan_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    EVENTS.clear()
    frozen = asyncio.Event()

    def freeze() -> None:
        EVENTS.append("frozen")
        frozen.set()

    monkeypatch.setattr(process, "freeze_startup_heap", freeze)
    monkeypatch.setattr(uvicorn.Server, "capture_signals", _signals_left_to_pytest)
    config = uvicorn.Config(lifespan_app, host="127.0.0.1", port=0, lifespan="on")
    server = process._server(config)
    serving = asyncio.create_task(server.serve())
    await asyncio.wait_for(frozen.wait(), 10)
    server.should_exit = True
    await asyncio.wait_for(serving, 10)
    assert EVENTS == ["app started", "frozen"]


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_asgi_runs_that_server_with_one_worker_or_several(
    monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    served: list[tuple[str, Any]] = []

    class Recorded:
        def __init__(self, config: uvicorn.Config) -> None:
            self.config = config

        def run(self, sockets: Any = None) -> None:
            served.append((self.config.app, sockets))

    def run_workers(serve: Any, sock: Any, count: int) -> None:
        serve(["socket"])
        sock.close()

    monkeypatch.setattr(process, "_server", Recorded)
    monkeypatch.setattr("flashsale.workers.run_workers", run_workers)
    process.serve_asgi("tests.app:create_app", "127.0.0.1", 0, workers=workers)
    assert served == [("tests.app:create_app", None if workers == 1 else ["socket"])]
