"""stop_tasks: cancels, waits with a bound, and says what went wrong with each task."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from flashsale.cancellation import raise_if_cancelled, stop_tasks


async def test_a_task_that_failed_before_the_stop_is_logged_with_its_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails() -> None:
        raise RuntimeError("lost the store")

    async def sleeps() -> None:
        await asyncio.sleep(60)

    failed, sleeping = asyncio.create_task(fails()), asyncio.create_task(sleeps())
    await asyncio.sleep(0)
    await stop_tasks([failed, sleeping], 1.0)
    assert sleeping.cancelled()
    assert "had failed: RuntimeError('lost the store')" in caplog.text


async def test_raise_if_cancelled_raises_in_a_task_whose_cancellation_was_lost() -> None:
    raise_if_cancelled()  # not asked: nothing happens

    async def asked() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        # Lost, as Python 3.11's wait_for could lose it: cancelling() stays 1.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0)
        raise_if_cancelled()
        await asyncio.sleep(0)  # without the check, the task would end normally

    task = asyncio.create_task(asked())
    with pytest.raises(asyncio.CancelledError):
        await task
