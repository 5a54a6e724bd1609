"""Exponential backoff with equal jitter (flashsale/backoff.py), with the random source
pinned."""

from __future__ import annotations

import pytest

from flashsale.backoff import backoff_delay


@pytest.mark.parametrize(
    ("attempt", "step"), [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (50, 1.0)]
)
def test_the_step_doubles_per_attempt_up_to_the_cap(attempt: int, step: float) -> None:
    assert backoff_delay(attempt, base_s=0.1, cap_s=1.0, rand=lambda: 1.0) == pytest.approx(step)


def test_half_the_step_is_fixed_and_half_is_random() -> None:
    delays = [backoff_delay(3, 0.1, 10.0, rand=lambda r=r: r) for r in (0.0, 0.5, 1.0)]
    assert delays == pytest.approx([0.2, 0.3, 0.4])


def test_an_attempt_below_one_waits_like_the_first() -> None:
    first = backoff_delay(1, 0.1, 1.0, rand=lambda: 0.5)
    assert backoff_delay(0, 0.1, 1.0, rand=lambda: 0.5) == first
    assert backoff_delay(-3, 0.1, 1.0, rand=lambda: 0.5) == first


def test_the_default_random_source_stays_within_the_step() -> None:
    for _ in range(200):
        assert 0.4 <= backoff_delay(3, 0.2, 5.0) <= 0.8
