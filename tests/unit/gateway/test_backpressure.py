"""Backpressure's decisions against a fake clock and a fake lag reader: hysteresis between
the water marks, an unknown lag changing nothing (logged once), the rate restored."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway.backpressure import Backpressure, WaterMarks, watch_lag
from gateway.bucket import GcraBucket, Rate
from gateway.ports import LagUnavailable
from tests.polling import eventually_async
from tests.unit.gateway.fakes import FakeClock, FakeLagReader

NORMAL = Rate(per_second=100, burst=10)
MARKS = WaterMarks(high=50_000, low=10_000, factor=0.25)


def valve(clock: FakeClock | None = None) -> tuple[Backpressure, GcraBucket]:
    bucket = GcraBucket(NORMAL, clock or FakeClock())
    return Backpressure(bucket, MARKS), bucket


def test_above_the_high_mark_the_rate_is_lowered_below_the_low_mark_restored() -> None:
    backpressure, bucket = valve()
    backpressure.observe(50_000)  # at the mark: not above it
    assert not backpressure.engaged and bucket.rate == NORMAL
    backpressure.observe(50_001)
    assert backpressure.engaged and bucket.rate == Rate(25, 10)
    backpressure.observe(10_000)  # at the low mark: not below it
    assert backpressure.engaged
    backpressure.observe(9_999)
    assert not backpressure.engaged and bucket.rate == NORMAL


def test_between_the_marks_nothing_changes_either_way() -> None:
    backpressure, bucket = valve()
    for lag in (20_000, 49_999, 10_001, 30_000):
        backpressure.observe(lag)
        assert not backpressure.engaged and bucket.rate == NORMAL
    backpressure.observe(80_000)
    for lag in (49_999, 20_000, 10_001, 60_000):
        backpressure.observe(lag)
        assert backpressure.engaged and bucket.rate == Rate(25, 10)


def test_the_lowered_rate_admits_a_quarter_as_many() -> None:
    clock = FakeClock()
    backpressure, bucket = valve(clock)
    backpressure.observe(100_000)
    while bucket.take() == 0.0:  # spend the burst
        pass
    admitted = 0
    for _ in range(1000):  # one second of a request every millisecond
        clock.now += 0.001
        admitted += bucket.take() == 0.0
    assert admitted == pytest.approx(25, abs=1)


def test_an_unknown_lag_leaves_the_rate_as_it_is_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.backpressure")
    backpressure, bucket = valve()
    for _ in range(3):
        backpressure.observe(None)
    assert not backpressure.engaged and bucket.rate == NORMAL
    backpressure.observe(70_000)
    for _ in range(3):
        backpressure.observe(None, "redis down")
    assert backpressure.engaged and bucket.rate == Rate(25, 10)  # not restored on a guess
    unknown = [r.getMessage() for r in caplog.records if "unknown" in r.getMessage()]
    assert unknown == [
        "lag unknown (no lag published): the global rate stays normal",
        "lag unknown (redis down): the global rate stays lowered",
    ]


def test_every_switch_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.backpressure")
    backpressure, _ = valve()
    for lag in (60_000, 70_000, 5_000, 4_000, 60_000):
        backpressure.observe(lag)
    switches = [r.getMessage() for r in caplog.records if r.getMessage().startswith("backp")]
    assert switches == [
        "backpressure on: lag 60000 > 50000, global rate 100 -> 25/s",
        "backpressure off: lag 5000 < 10000, global rate 25 -> 100/s",
        "backpressure on: lag 60000 > 50000, global rate 100 -> 25/s",
    ]


def test_water_marks_must_make_sense() -> None:
    for high, low, factor in ((10, 20, 0.5), (10, 5, 0.0), (10, 5, 1.5)):
        with pytest.raises(ValueError):
            WaterMarks(high, low, factor)


async def until(reader: FakeLagReader, reads: int) -> None:
    await eventually_async(lambda: reader.reads >= reads, 5, f"{reads} readings", every_s=0)


async def test_the_watcher_reads_the_lag_until_cancelled() -> None:
    reader = FakeLagReader(60_000, None, LagUnavailable("redis down"), 20_000, 5_000)
    backpressure, bucket = valve()
    watcher = asyncio.create_task(watch_lag(reader, backpressure, poll_s=0))
    await until(reader, 1)
    assert backpressure.engaged  # lowered on the first reading
    await until(reader, 4)
    assert backpressure.engaged  # unknown twice, then between the marks: held
    await until(reader, 6)
    assert not backpressure.engaged and bucket.rate == NORMAL
    watcher.cancel()
    with pytest.raises(asyncio.CancelledError):
        await watcher


async def test_a_surprise_from_the_reader_does_not_end_the_watcher() -> None:
    class Broken(FakeLagReader):
        async def read(self) -> int | None:
            self.reads += 1
            if self.reads == 1:
                raise RuntimeError("bug")
            return 90_000

    reader = Broken()
    backpressure, _ = valve()
    watcher = asyncio.create_task(watch_lag(reader, backpressure, poll_s=0))
    await until(reader, 3)
    assert backpressure.engaged
    watcher.cancel()
    with pytest.raises(asyncio.CancelledError):
        await watcher


def test_the_default_lag_key_is_the_one_the_pool_writes_for_the_inventory_group() -> None:
    from flashsale.autoscale.status import lag_key
    from flashsale.settings import KafkaSettings
    from gateway.settings import GatewaySettings

    group = KafkaSettings.model_fields["inventory_group_id"].default
    assert GatewaySettings.model_fields["lag_key"].default == lag_key(group)
