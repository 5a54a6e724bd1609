"""TickBatch: the calls of one tick go out together, the next batch fills while one is in
flight, and a failure reaches only the callers it belongs to."""

from __future__ import annotations

import asyncio

import pytest

from flashsale.tick_batch import TickBatch


class Recorder:
    """A `run` that records each batch, answers item * 10, and can be held on the wire."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def run(self, items: list[int]) -> list[int | Exception]:
        self.batches.append(items)
        await self.release.wait()
        return [ValueError(f"bad {i}") if i < 0 else i * 10 for i in items]


async def test_the_calls_of_one_tick_share_one_batch() -> None:
    recorder = Recorder()
    batch = TickBatch(recorder.run)
    results = await asyncio.gather(*(batch.submit(i) for i in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert recorder.batches == [[0, 1, 2, 3, 4]]


async def test_calls_arriving_while_a_batch_is_in_flight_form_the_next_one() -> None:
    recorder = Recorder()
    recorder.release.clear()
    batch = TickBatch(recorder.run)
    first = asyncio.ensure_future(batch.submit(1))
    await asyncio.sleep(0.01)  # the first batch is on the wire
    later = [asyncio.ensure_future(batch.submit(i)) for i in (2, 3, 4)]
    await asyncio.sleep(0.01)
    assert recorder.batches == [[1]]
    recorder.release.set()
    assert await first == 10
    assert await asyncio.gather(*later) == [20, 30, 40]
    assert recorder.batches == [[1], [2, 3, 4]]


async def test_an_item_failure_fails_only_its_caller() -> None:
    batch = TickBatch(Recorder().run)
    good, bad = await asyncio.gather(batch.submit(2), batch.submit(-1), return_exceptions=True)
    assert good == 20
    assert isinstance(bad, ValueError)


async def test_a_failed_batch_fails_every_caller_and_the_next_batch_still_runs() -> None:
    calls = 0

    async def flaky(items: list[int]) -> list[int | Exception]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("redis went away")
        return list(items)

    batch = TickBatch(flaky)
    failed = await asyncio.gather(batch.submit(1), batch.submit(2), return_exceptions=True)
    assert all(isinstance(f, ConnectionError) for f in failed)
    assert await batch.submit(3) == 3


async def test_a_cancelled_caller_does_not_break_the_batch() -> None:
    recorder = Recorder()
    recorder.release.clear()
    batch = TickBatch(recorder.run)
    gone = asyncio.ensure_future(batch.submit(1))
    stays = asyncio.ensure_future(batch.submit(2))
    await asyncio.sleep(0.01)
    gone.cancel()
    recorder.release.set()
    assert await stays == 20
    with pytest.raises(asyncio.CancelledError):
        await gone
