"""Counters into rates: deltas over time, resets, series born between two readings."""

from __future__ import annotations

import pytest

from dashboard.rates import Point, RateMeter, increase, per_second


def test_increase_is_the_gain_and_a_reset_counts_from_zero() -> None:
    assert increase(10, 25) == 15
    assert increase(10, 10) == 0
    assert increase(500, 7) == 7  # the process restarted: its counter starts over


def test_per_second_divides_by_the_time_between_the_readings() -> None:
    assert per_second(Point(1.0, 100), Point(3.0, 160)) == 30
    assert per_second(Point(2.0, 100), Point(2.0, 160)) == 0  # no time passed: no rate


def test_a_first_reading_gives_no_rate_and_starts_the_totals_at_zero() -> None:
    meter = RateMeter()
    rates = meter.update(0.0, {"kafka:produced": 1_000}, ["kafka"])
    assert rates.per_second == {}
    assert rates.since_start == {"kafka:produced": 0}


def test_rates_and_totals_follow_the_counters() -> None:
    meter = RateMeter()
    meter.update(0.0, {"kafka:produced": 1_000}, ["kafka"])
    meter.update(1.0, {"kafka:produced": 1_300}, ["kafka"])
    rates = meter.update(3.0, {"kafka:produced": 1_500}, ["kafka"])
    assert rates.per_second == {"kafka:produced": 100}
    assert rates.since_start == {"kafka:produced": 500}


def test_a_reset_counter_gains_its_new_value() -> None:
    meter = RateMeter()
    meter.update(0.0, {"admission:reserved": 900}, ["admission"])
    rates = meter.update(1.0, {"admission:reserved": 40}, ["admission"])
    assert rates.per_second == {"admission:reserved": 40}


def test_a_series_born_after_its_source_was_read_counts_from_zero() -> None:
    """The gateway's /metrics lists no outcome before its first request: the burst's
    first second must not be lost."""
    meter = RateMeter()
    meter.update(0.0, {}, ["gateway"])
    rates = meter.update(0.5, {"gateway:sold_out": 300}, ["gateway"])
    assert rates.per_second == {"gateway:sold_out": 600}
    assert rates.since_start == {"gateway:sold_out": 300}


def test_an_unreachable_source_leaves_a_gap_then_spans_it() -> None:
    meter = RateMeter()
    meter.update(0.0, {"db:written": 0}, ["db"])
    assert meter.update(1.0, {}, []).per_second == {}  # PostgreSQL did not answer
    rates = meter.update(2.0, {"db:written": 100}, ["db"])
    assert rates.per_second == {"db:written": pytest.approx(50)}
