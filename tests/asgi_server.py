"""Serve an ASGI app over real HTTP inside the test's event loop (uvicorn, a free port)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn

from tests.net import free_port
from tests.polling import eventually_async

__all__ = ["free_port", "serve"]


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # pytest owns the signals
        yield


@contextlib.asynccontextmanager
async def serve(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """Yield the base URL while the app runs (lifespan included); stop it on exit."""
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())

    def started() -> bool:
        if task.done():
            task.result()  # raises what stopped the server
            raise RuntimeError("server stopped before it started")
        return bool(server.started)

    await eventually_async(started, 30, "the test server to start", every_s=0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
