"""The admission rules (domain.decide), the Kafka breaker and the sold-out flags."""

from __future__ import annotations

from dataclasses import replace

from order_service.breaker import KafkaBreaker
from order_service.domain import VOID_PREFIX, Outcome, SaleState, decide, ended_and_settled
from order_service.soldout import StockChannelFlags
from tests.unit.order_service.fakes import FakeClock

SALE = SaleState(starts_at_ms=100, ends_at_ms=200, per_user_limit=2, stock=3, buyers={"old": "o-0"})


def test_decide_in_order() -> None:
    assert decide(None, "u", 1, "o", 150).outcome is Outcome.UNKNOWN_SALE
    already = decide(SALE, "old", 1, "o", 500)  # even after the end: the client learns its id
    assert (already.outcome, already.order_id) == (Outcome.ALREADY_PURCHASED, "o-0")
    voided = replace(SALE, buyers={"old": f"{VOID_PREFIX}o-0"})
    waiting = decide(voided, "old", 1, "o", 150)  # a voided id is never handed out
    assert (waiting.outcome, waiting.order_id) == (Outcome.VOID_PENDING, None)
    assert decide(voided, "old", 1, "o", 500).outcome is Outcome.VOID_PENDING
    unacked = replace(SALE, pending=frozenset({"o-0"}))
    waiting = decide(unacked, "old", 1, "o", 150)  # Kafka has not acknowledged o-0 yet
    assert (waiting.outcome, waiting.order_id) == (Outcome.PENDING, None)
    assert decide(unacked, "u", 1, "o", 150).outcome is Outcome.RESERVED  # others: as usual
    assert decide(SALE, "u", 1, "o", 99).outcome is Outcome.NOT_ACTIVE
    assert decide(SALE, "u", 1, "o", 200).outcome is Outcome.NOT_ACTIVE  # the end is exclusive
    assert decide(SALE, "u", 3, "o", 150).outcome is Outcome.OVER_LIMIT
    reserved = decide(SALE, "u", 2, "o", 150)
    assert (reserved.outcome, reserved.order_id, reserved.stock_left) == (Outcome.RESERVED, "o", 1)
    assert not reserved.sold_out_for_everyone


def test_a_fenced_sale_answers_nothing_else_until_the_repair_reopens_it() -> None:
    fenced = replace(SALE, fenced=True)
    for user, now_ms in (("old", 150), ("u", 150), ("u", 99), ("u", 500)):
        answer = decide(fenced, user, 1, "o", now_ms)
        assert (answer.outcome, answer.order_id, answer.stock_left) == (Outcome.FENCED, None, None)
    assert decide(None, "u", 1, "o", 150).outcome is Outcome.UNKNOWN_SALE


def test_an_ended_sale_leaves_the_scan_only_once_settled() -> None:
    assert ended_and_settled(ends_at_ms=100, unsettled=0, ended_before_ms=101)
    assert not ended_and_settled(ends_at_ms=100, unsettled=0, ended_before_ms=100)
    assert not ended_and_settled(ends_at_ms=100, unsettled=1, ended_before_ms=101)
    assert not ended_and_settled(ends_at_ms=None, unsettled=0, ended_before_ms=101)


def test_decide_sold_out_only_for_everyone_at_zero() -> None:
    low = SaleState(100, 200, 2, 1, {})
    partial = decide(low, "u", 2, "o", 150)
    assert partial.outcome is Outcome.SOLD_OUT and not partial.sold_out_for_everyone
    last = decide(low, "u", 1, "o", 150)
    assert last.outcome is Outcome.RESERVED and last.sold_out_for_everyone


def test_breaker_opens_fails_fast_then_lets_one_probe() -> None:
    clock = FakeClock(0.0)
    breaker = KafkaBreaker(2.0, clock)
    assert breaker.allow()
    breaker.failed()
    assert not breaker.allow()
    clock.now = 2.5
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # everyone else still fails fast while it probes
    breaker.succeeded()
    assert breaker.allow() and not breaker.is_open


def test_sold_out_flag_expires_and_follows_the_channel() -> None:
    clock = FakeClock(0.0)
    flags = StockChannelFlags(1.0, clock)
    flags.apply("soldout s1")
    assert flags.is_sold_out("s1") and not flags.is_sold_out("s2")
    clock.now = 1.5
    assert not flags.is_sold_out("s1")  # the TTL: this caller asks Redis again...
    assert flags.is_sold_out("s1")  # ...while the others keep the flag's answer
    flags.mark("s1")
    flags.apply("release s1")
    assert not flags.is_sold_out("s1")
    flags.apply("garbage")
    flags.apply("soldout ")
    assert not flags.is_sold_out("")
