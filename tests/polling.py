"""The one way tests wait: poll a check until it gives a truthy value, within a bound.

Every wait in the suite is bounded and says what it waited for, so a hung pipeline fails
with a sentence instead of a pytest-timeout stack dump.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["TimedOut", "eventually", "eventually_async"]

T = TypeVar("T")


class TimedOut(AssertionError):
    """The check never held within the bound (an AssertionError: pytest reports it so)."""


def eventually(
    check: Callable[[], T], within_s: float = 30.0, what: str = "", every_s: float = 0.1
) -> T:
    """Call `check` until it returns something truthy, and return that."""
    deadline = time.monotonic() + within_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimedOut(f"timed out after {within_s}s waiting for {what or check!r}")
        time.sleep(every_s)


async def eventually_async(
    check: Callable[[], Awaitable[T] | T],
    within_s: float = 30.0,
    what: str = "",
    every_s: float = 0.1,
) -> T:
    """`eventually` for a test that shares its loop with the code under test: it sleeps
    with asyncio, so the services on the same loop keep running meanwhile."""
    deadline = time.monotonic() + within_s
    while True:
        result = check()
        if asyncio.iscoroutine(result) or isinstance(result, Awaitable):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise TimedOut(f"timed out after {within_s}s waiting for {what or check!r}")
        await asyncio.sleep(every_s)
