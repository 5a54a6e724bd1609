"""Blocking reads (confluent-kafka, SQLAlchemy) in a thread, one at a time per store.

The sampler gives up on a slow read after a timeout, but a thread cannot be cancelled:
without this, a store that hangs would get a new stuck thread every second until the
default executor is full. A read asked for while the last one still runs shares it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["SharedThreadRead"]

T = TypeVar("T")


class SharedThreadRead(Generic[T]):
    def __init__(self, read: Callable[[], T]) -> None:
        self._read = read
        self._running: asyncio.Future[T] | None = None

    async def __call__(self) -> T:
        if self._running is None or self._running.done():
            self._running = asyncio.get_running_loop().run_in_executor(None, self._read)
        # shield: a caller's timeout cancels its wait, not the read the next one shares.
        return await asyncio.shield(self._running)
