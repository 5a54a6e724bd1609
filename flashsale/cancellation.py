"""Loops that carry on after an error must still stop when their task is cancelled.

On Python 3.11 a cancellation can be lost (fixed in 3.12):
- an `asyncio.timeout` (redis-py's socket timeouts use it) that expires just as its task
  is cancelled turns the CancelledError into a TimeoutError;
- an `asyncio.wait_for` whose awaitable ends just as its task is cancelled returns the
  value and drops the CancelledError.
A loop that carries on then never stops: seen as an order service worker whose shutdown
waited for ever on its recovery loop, and as a dashboard whose sampling loop outlived its
app. So such a loop calls `raise_if_cancelled()` on every turn, and whoever stops
background tasks does it through `stop_tasks`, which never waits without a bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection

__all__ = ["STOP_TASKS_S", "raise_if_cancelled", "stop_tasks"]

log = logging.getLogger(__name__)

STOP_TASKS_S = 5.0  # how long stop_tasks waits for the cancelled tasks


def raise_if_cancelled() -> None:
    """Raise the CancelledError that Python 3.11 may have lost: the running task was
    asked to stop (`cancelling()`), even if no CancelledError reached it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling() > 0:
        raise asyncio.CancelledError


async def stop_tasks(tasks: Collection[asyncio.Task[object]], within_s: float) -> None:
    """Cancel the tasks and wait for them, at most `within_s`: a task that swallowed its
    cancellation must not hold a shutdown (and the closers after it) for ever."""
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    ended, stuck = await asyncio.wait(tasks, timeout=within_s)
    for task in ended:  # one that failed before its cancellation: say how
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("background task %s had failed: %r", task.get_name(), error)
    for task in stuck:
        log.error("background task %s ignored its cancellation", task.get_name())
