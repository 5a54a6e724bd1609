"""Loops that carry on after an error must still stop when their task is cancelled.

On Python 3.11 an `asyncio.timeout` (redis-py's socket timeouts use it) that expires just
as its task is cancelled turns the CancelledError into a TimeoutError and takes the
cancellation back (fixed in 3.12). A loop that catches Exception to try again then never
stops: seen as an order service worker whose shutdown waited for ever on its recovery
loop. Such a loop asks `being_cancelled()` in its except clause.
"""

from __future__ import annotations

import asyncio

__all__ = ["being_cancelled"]


def being_cancelled() -> bool:
    """Was the running task asked to stop, even if the CancelledError was lost?"""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
