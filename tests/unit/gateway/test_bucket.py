"""GCRA token buckets against a fake clock."""

from __future__ import annotations

import pytest

from gateway.bucket import GcraBucket, KeyedBuckets, Rate, take
from tests.unit.order_service.fakes import FakeClock


def test_burst_then_steady_rate() -> None:
    clock = FakeClock(100.0)
    bucket = GcraBucket(Rate(per_second=10, burst=3), clock)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]  # the burst
    wait = bucket.take()
    assert wait == pytest.approx(0.1)  # one token every 100 ms
    clock.now += 0.1
    assert bucket.take() == 0.0
    assert bucket.take() > 0
    clock.now += 10  # idle: refills up to the burst, never beyond
    assert [bucket.take() for _ in range(4)][:3] == [0.0, 0.0, 0.0]
    assert bucket.take() > 0


def test_a_rejected_request_costs_no_token() -> None:
    rate = Rate(per_second=1, burst=1)
    tat, wait = take(0.0, 5.0, rate)
    assert (tat, wait) == (6.0, 0.0)
    for _ in range(100):  # hammering while empty does not push the refill further away
        tat2, wait = take(tat, 5.5, rate)
        assert tat2 == tat and wait == pytest.approx(0.5)


def test_keyed_buckets_are_per_client_and_bounded() -> None:
    clock = FakeClock(0.0)
    buckets = KeyedBuckets(Rate(per_second=1, burst=2), max_keys=3, clock=clock)
    assert buckets.take("a") == buckets.take("a") == 0.0
    assert buckets.take("a") > 0
    assert buckets.take("b") == 0.0  # another client has its own bucket
    buckets.take("c")
    clock.now = 5.0  # every bucket is full again: a sweep empties the table
    buckets.take("d")
    assert len(buckets) == 1


def test_invalid_rates_are_refused() -> None:
    with pytest.raises(ValueError):
        Rate(per_second=0, burst=1)
    with pytest.raises(ValueError):
        Rate(per_second=1, burst=0)


def test_tokens_are_what_the_bucket_would_admit_now() -> None:
    clock = FakeClock(100.0)
    bucket = GcraBucket(Rate(per_second=10, burst=4), clock)
    assert bucket.tokens() == 4
    bucket.take()
    bucket.take()
    assert bucket.tokens() == pytest.approx(2)
    clock.now += 0.1
    assert bucket.tokens() == pytest.approx(3)
    clock.now += 60
    assert bucket.tokens() == 4  # full, never more


def test_a_new_rate_keeps_the_tokens_spent_and_refills_at_the_new_pace() -> None:
    clock = FakeClock(100.0)
    bucket = GcraBucket(Rate(per_second=100, burst=10), clock)
    for _ in range(6):
        bucket.take()
    bucket.set_rate(Rate(per_second=10, burst=10))
    assert bucket.rate == Rate(10, 10)
    assert bucket.tokens() == pytest.approx(4)  # not refilled, not emptied by the change
    clock.now += 0.15  # one and a half tokens at the new rate (fifteen at the old one)
    assert bucket.tokens() == pytest.approx(5.5)
    assert [bucket.take() for _ in range(5)] == [0.0] * 5
    assert bucket.take() == pytest.approx(0.05)
    bucket.set_rate(Rate(per_second=100, burst=10))  # restored: the debt is kept in tokens
    assert bucket.tokens() == pytest.approx(0.5)
    clock.now += 0.005
    assert bucket.tokens() == pytest.approx(1)


def test_a_new_rate_on_a_full_bucket_leaves_it_full() -> None:
    clock = FakeClock(100.0)
    bucket = GcraBucket(Rate(per_second=100, burst=10), clock)
    bucket.take()
    clock.now += 5
    bucket.set_rate(Rate(per_second=1, burst=10))
    assert bucket.tokens() == 10
    assert [bucket.take() for _ in range(10)] == [0.0] * 10
    assert bucket.take() == pytest.approx(1.0)
