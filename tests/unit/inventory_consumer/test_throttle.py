"""Token bucket math on a fake clock: the long-run rate is the configured rate."""

from __future__ import annotations

import pytest

from inventory_consumer.throttle import WriteThrottle


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_burst_is_free_then_each_token_costs_one_over_rate() -> None:
    clock = FakeClock()
    bucket = WriteThrottle(rate=100, clock=clock)
    assert bucket.burst == 10
    assert bucket.reserve(10) == 0.0
    assert bucket.reserve(1) == pytest.approx(0.01)


def test_a_batch_larger_than_the_burst_goes_into_debt_and_waits_it_off() -> None:
    clock = FakeClock()
    bucket = WriteThrottle(rate=100, burst=10, clock=clock)
    assert bucket.reserve(60) == pytest.approx(0.5)  # 10 free, 50 owed at 100/s


def test_over_a_long_run_the_rate_is_exactly_the_cap() -> None:
    clock = FakeClock()
    bucket = WriteThrottle(rate=250, clock=clock)
    taken = 0
    while clock.now < 100.0:
        clock.now += bucket.reserve(7)  # the caller sleeps what reserve says
        taken += 7
    # 100 s at 250/s, plus at most one burst at the start and one batch of rounding.
    assert 25_000 <= taken <= 25_000 + bucket.burst + 7


def test_idle_time_refills_no_more_than_the_burst() -> None:
    clock = FakeClock()
    bucket = WriteThrottle(rate=100, burst=10, clock=clock)
    bucket.reserve(10)
    clock.now += 60.0
    assert bucket.reserve(10) == 0.0
    assert bucket.reserve(1) > 0


def test_a_zero_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        WriteThrottle(rate=0)
