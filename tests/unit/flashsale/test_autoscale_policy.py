"""The scaling rules (flashsale/autoscale/policy.py), on a fake clock: bounds, thresholds,
the partition cap, proportional growth, one-at-a-time shrinking, cooldown, hysteresis."""

from __future__ import annotations

from itertools import pairwise

import pytest

from flashsale.autoscale.policy import ScalingPolicy


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def policy(clock: FakeClock, **overrides: float) -> ScalingPolicy:
    settings: dict[str, float] = {
        "min_workers": 1,
        "max_workers": 4,
        "scale_up_lag": 10_000,
        "scale_down_lag": 1_000,
        "cooldown_s": 15,
        **overrides,
    }
    return ScalingPolicy(**settings, clock=clock)  # type: ignore[arg-type]


def test_the_defaults_are_the_seeds_thresholds() -> None:
    default = ScalingPolicy()
    assert (default.scale_up_lag, default.scale_down_lag) == (10_000, 1_000)
    assert (default.min_workers, default.max_workers) == (1, 4)


def test_up_above_the_up_threshold_one_more_at_least(clock: FakeClock) -> None:
    decision = policy(clock).decide(workers=1, lag=10_001, partitions=12)
    assert (decision.workers, decision.direction) == (2, "up")


def test_up_is_proportional_to_the_lag(clock: FakeClock) -> None:
    assert policy(clock).decide(workers=1, lag=30_000, partitions=12).workers == 3


def test_up_never_above_max_workers(clock: FakeClock) -> None:
    assert policy(clock).decide(workers=1, lag=1_000_000, partitions=12).workers == 4


def test_up_never_above_the_partition_count(clock: FakeClock) -> None:
    rules = policy(clock, max_workers=8)
    assert rules.decide(workers=1, lag=1_000_000, partitions=3).workers == 3
    decision = rules.decide(workers=3, lag=1_000_000, partitions=3)
    assert (decision.workers, decision.direction) == (3, "hold")


def test_exactly_at_a_threshold_holds(clock: FakeClock) -> None:
    assert policy(clock).decide(workers=2, lag=10_000, partitions=12).direction == "hold"
    assert policy(clock).decide(workers=2, lag=1_000, partitions=12).direction == "hold"


def test_down_one_worker_at_a_time(clock: FakeClock) -> None:
    decision = policy(clock).decide(workers=4, lag=0, partitions=12)
    assert (decision.workers, decision.direction) == (3, "down")


def test_never_below_min_workers(clock: FakeClock) -> None:
    rules = policy(clock, min_workers=2)
    assert rules.decide(workers=2, lag=0, partitions=12).direction == "hold"
    assert rules.decide(workers=0, lag=0, partitions=12).workers == 2


def test_between_the_thresholds_the_pool_holds(clock: FakeClock) -> None:
    rules = policy(clock)
    for lag in (1_000, 5_000, 10_000):
        assert rules.decide(workers=3, lag=lag, partitions=12).direction == "hold"


def test_no_change_during_the_cooldown_then_the_next_one(clock: FakeClock) -> None:
    rules = policy(clock)
    assert rules.decide(workers=1, lag=20_000, partitions=12).workers == 2
    clock.advance(14.9)
    assert rules.decide(workers=2, lag=50_000, partitions=12).direction == "hold"
    assert rules.decide(workers=2, lag=0, partitions=12).direction == "hold"
    clock.advance(0.1)
    assert rules.decide(workers=2, lag=0, partitions=12).direction == "down"


def test_a_hold_does_not_restart_the_cooldown(clock: FakeClock) -> None:
    rules = policy(clock)
    rules.decide(workers=1, lag=20_000, partitions=12)
    for _ in range(20):  # one read a second, all inside the band
        clock.advance(1)
        assert rules.decide(workers=2, lag=5_000, partitions=12).direction == "hold"
    assert rules.decide(workers=2, lag=50_000, partitions=12).direction == "up"


@pytest.mark.parametrize("threshold", [10_000, 1_000])
def test_a_lag_swinging_around_a_threshold_never_flaps(clock: FakeClock, threshold: int) -> None:
    """Noise of +-5 % around either threshold, for two minutes: the pool moves one way
    only (the other threshold is far away), and at most once per cooldown."""
    rules = policy(clock)
    workers, directions = 2, []
    for second in range(120):
        clock.advance(1)
        lag = threshold * (105 if second % 2 else 95) // 100
        decision = rules.decide(workers=workers, lag=lag, partitions=12)
        if decision.direction != "hold":
            directions.append((decision.direction, clock.now))
        workers = decision.workers
    assert len({d for d, _ in directions}) == 1
    times = [t for _, t in directions]
    assert all(b - a >= 15 for a, b in pairwise(times))


def test_unknown_lag_holds(clock: FakeClock) -> None:
    decision = policy(clock).decide(workers=2, lag=None, partitions=12)
    assert (decision.workers, decision.direction, decision.reason) == (2, "hold", "lag unknown")


def test_above_capacity_goes_down_even_when_cooling_down(clock: FakeClock) -> None:
    rules = policy(clock)
    rules.decide(workers=1, lag=40_000, partitions=12)  # up to 4, cooldown starts
    decision = rules.decide(workers=4, lag=40_000, partitions=2)  # the topic shrank?
    assert (decision.workers, decision.direction) == (2, "down")


@pytest.mark.parametrize(
    "bad",
    [
        {"min_workers": 0},
        {"min_workers": 5, "max_workers": 4},
        {"scale_down_lag": 10_000},  # no band between the thresholds: it would flap
        {"scale_down_lag": -1},
        {"cooldown_s": -1},
    ],
)
def test_settings_that_make_no_sense_are_refused(clock: FakeClock, bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        policy(clock, **bad)
