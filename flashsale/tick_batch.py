"""Group commit for asyncio: the calls that arrive while a batch is on the wire go out
together as the next one.

A flash sale's admissions arrive hundreds at a time. Sent one by one, each Redis call
costs a round trip and redis-py's per-command Python work; sent as one pipeline, the
round trip and most of that work are shared. `TickBatch.submit` queues an item and
awaits its own result: the first item of an idle batcher goes out on the next loop tick
(with whatever else arrived in that tick), and while a batch is in flight the next one
fills up, so a busy server sends big batches and an idle one adds no wait at all.

`run(items)` returns one result per item, in order: an Exception in that list fails only
its own caller; `run` raising fails every caller of that batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["TickBatch"]

T = TypeVar("T")
R = TypeVar("R")


class TickBatch(Generic[T, R]):
    def __init__(self, run: Callable[[list[T]], Awaitable[list[R | Exception]]]) -> None:
        self._run = run
        self._queued: list[tuple[T, asyncio.Future[R]]] = []
        self._busy = False  # a batch is scheduled or on the wire
        self._sender: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queued.append((item, future))
        if not self._busy:
            self._busy = True
            self._sender = asyncio.get_running_loop().create_task(self._send_while_queued())
        return await future

    async def _send_while_queued(self) -> None:
        try:
            await asyncio.sleep(0)  # one tick: let the callers of this tick queue up
            while self._queued:
                batch, self._queued = self._queued, []
                await self._send(batch)
        finally:
            self._busy = False

    async def _send(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run([item for item, _ in batch])
        except BaseException as exc:  # the whole batch failed (connection lost, cancelled)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else _cancelled())
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # its caller gave up (a cancelled request)
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


def _cancelled() -> Exception:
    return ConnectionError("the batch was cancelled before Redis answered")
