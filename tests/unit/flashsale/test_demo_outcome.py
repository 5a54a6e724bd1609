"""The demo's arithmetic: who tries when, what the answers count to, which invariant broke."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from flashsale.demo.burst import ADMITTED, Answer, attempt_schedule
from flashsale.demo.orders import SaleOrders
from flashsale.demo.outcome import (
    AnswerCounts,
    BurstResult,
    DemoOutcome,
    DemoPlan,
    DrainResult,
    percentile_ms,
)


def test_every_user_gets_the_same_number_of_tries_in_a_shuffled_order() -> None:
    schedule = attempt_schedule(20, 10, seed=1)
    assert Counter(schedule) == dict.fromkeys(range(10), 2)
    assert schedule != sorted(schedule)
    assert schedule == attempt_schedule(20, 10, seed=1)


def test_percentiles_are_nearest_rank_in_ms() -> None:
    assert percentile_ms([], 0.5) == 0.0
    assert percentile_ms([0.003, 0.001, 0.002], 0.5) == 2.0
    assert percentile_ms([0.001] * 99 + [1.0], 0.99) == 1000.0


def outcome(answers: list[Answer], orders: SaleOrders, without_order: int = 0) -> DemoOutcome:
    counts = AnswerCounts.of(BurstResult(answers, 1.0))
    return DemoOutcome(
        "s", DemoPlan(stock=2), counts, orders, DrainResult(without_order, 0.5, 7, 3), []
    )


ANSWERS = [
    Answer(202, ADMITTED, "o1", 0.010),
    Answer(202, ADMITTED, "o2", 0.030),
    Answer(409, "sold_out", None, 0.001),
    Answer(409, "already_purchased", None, 0.002),
    Answer(429, "rate_limited", None, 0.001),
    Answer(503, "previous_attempt_pending", None, 0.004),
    Answer(0, "no answer: ClientOSError", None, 0.5),
]
CLEAN = SaleOrders(stock=2, orders_created=2, oversell=0, duplicate_orders=0)


def test_answers_are_counted_and_the_unexpected_ones_are_errors() -> None:
    report = outcome(ANSWERS, CLEAN).as_dict()
    assert report["offered"] == 7
    assert (report["admitted"], report["sold_out"], report["already_purchased"]) == (2, 1, 1)
    assert (report["rate_limited"], report["errors"]) == (1, 2)
    assert report["other_answers"] == {"previous_attempt_pending": 1, "no answer: ClientOSError": 1}
    assert (report["p50_ms"], report["p99_ms"]) == (30.0, 30.0)  # the tokens' latency only
    assert (report["peak_lag"], report["drain_seconds"]) == (7, 0.5)
    assert report["ok"] and report["violations"] == [] and report["check_passed"]


def test_each_broken_invariant_is_named() -> None:
    assert outcome(ANSWERS, replace(CLEAN, oversell=1)).violations == ["oversell"]
    assert outcome(ANSWERS, replace(CLEAN, duplicate_orders=1)).violations == ["duplicate_orders"]
    assert outcome(ANSWERS, CLEAN, without_order=1).violations == ["tokens_without_order"]
    assert outcome(ANSWERS, replace(CLEAN, orders_created=3)).violations == ["orders_without_token"]
    assert outcome(ANSWERS, replace(CLEAN, stock=1)).violations == ["admitted_over_stock"]
    failed = replace(outcome(ANSWERS, CLEAN), failed_checks=["stock_balances"])
    assert failed.violations == ["flashsale_check"] and not failed.ok
