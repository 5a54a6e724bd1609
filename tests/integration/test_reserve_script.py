"""reserve.lua agrees with `domain.decide`, case by case, on the real Redis: the pure rules
are the reference the unit tests pin, the script is what runs."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys, load_sale
from order_service.adapters.reservations import RedisReservations
from order_service.domain import VOID_PREFIX, Outcome, Reservation, SaleState, decide
from tests.random_refs import random_sale_id, random_topic

pytestmark = pytest.mark.integration

HOUR_MS = 3_600_000

# (case, stock, per-user limit, the user's buyers entry, quantity, now relative to start,
#  the sale's pending order ids (not yet acknowledged), fenced by a repair)
CASES = [
    ("reserved", 5, 2, None, 2, 1, [], False),
    ("sold out", 1, 2, None, 2, 1, [], False),
    ("no stock at all", 0, 1, None, 1, 1, [], False),
    ("over the limit", 5, 1, None, 2, 1, [], False),
    ("before the window", 5, 1, None, 1, -1, [], False),
    ("after the window", 5, 1, None, 1, HOUR_MS + 1, [], False),
    ("already purchased, even after the window", 5, 1, "order-1", 1, HOUR_MS + 1, [], False),
    ("already purchased, another order pending", 5, 1, "order-1", 1, 1, ["order-2"], False),
    ("voided attempt pending", 5, 1, VOID_PREFIX + "order-1", 1, 1, [], False),
    ("purchase not yet acknowledged", 5, 1, "order-1", 1, 1, ["order-1"], False),
    ("not yet acknowledged, after the window", 5, 1, "order-1", 1, HOUR_MS + 1, ["order-1"], False),
    ("fenced for a new buyer", 5, 1, None, 1, 1, [], True),
    ("fenced for a buyer", 5, 1, "order-1", 1, 1, [], True),
    ("fenced after the window", 5, 1, None, 1, HOUR_MS + 1, [], True),
]


@pytest.mark.parametrize(
    ("case", "stock", "limit", "entry", "quantity", "offset_ms", "pending", "fenced"),
    CASES,
    ids=[c[0] for c in CASES],
)
async def test_the_script_answers_as_decide_does(
    infra: InfraSettings,
    case: str,
    stock: int,
    limit: int,
    entry: str | None,
    quantity: int,
    offset_ms: int,
    pending: list[str],
    fenced: bool,
) -> None:
    redis = Redis.from_url(infra.redis_url, decode_responses=True)
    sale_id, user_id, order_id = random_sale_id(), "u-1", str(uuid.uuid4())
    keys = SaleKeys(sale_id)
    starts = datetime.now(UTC).replace(microsecond=0)
    await load_sale(redis, sale_id, stock, starts, starts + timedelta(hours=1), limit)
    if entry is not None:
        await redis.hset(keys.buyers, user_id, entry)
    for pending_id in pending:  # what the reserve wrote, until the ack removes it
        await redis.hset(keys.pending, pending_id, "topic\n{}")
    if fenced:
        await redis.hset(keys.meta, "fenced", "1")  # what `flashsale repair` sets first
    start_ms = int(starts.timestamp() * 1000)
    now_ms = start_ms + offset_ms
    buyers = {user_id: entry} if entry else {}
    state = SaleState(
        start_ms, start_ms + HOUR_MS, limit, stock, buyers, frozenset(pending), fenced
    )
    try:
        expected = decide(state, user_id, quantity, order_id, now_ms)
        got = await RedisReservations(redis, 60, random_topic()).reserve(
            sale_id, user_id, quantity, order_id, now_ms, "{}"
        )
        assert got == expected
        if fenced or pending:  # nothing was reserved or changed behind the answer
            assert await redis.get(keys.stock) == str(stock)
        unknown = await RedisReservations(redis, 60, random_topic()).reserve(
            random_sale_id("missing"), user_id, quantity, order_id, now_ms, "{}"
        )
        assert unknown == decide(None, user_id, quantity, order_id, now_ms)
        assert unknown.outcome is Outcome.UNKNOWN_SALE
    finally:
        await redis.delete(*SaleKeys(sale_id).all())
        await redis.srem("flashsale:sales", sale_id)
        await redis.aclose()


async def test_a_reservation_survives_a_script_flush(infra: InfraSettings) -> None:
    """A restarted Redis has forgotten the script: the next reservation reloads it."""
    redis = Redis.from_url(infra.redis_url, decode_responses=True)
    sale_id, now = random_sale_id(), datetime.now(UTC)
    try:
        await load_sale(redis, sale_id, 5, now - timedelta(minutes=1), now + timedelta(hours=1), 1)
        reservations = RedisReservations(redis, 60, random_topic("orders"))
        first = await reservations.reserve(sale_id, "u-1", 1, str(uuid.uuid4()), _ms(now), "{}")
        await redis.script_flush()  # what a Redis restart does to loaded scripts
        second = await reservations.reserve(sale_id, "u-2", 1, str(uuid.uuid4()), _ms(now), "{}")
        assert (first.outcome, second.outcome) == (Outcome.RESERVED, Outcome.RESERVED)
        assert await redis.get(SaleKeys(sale_id).stock) == "3"
    finally:
        await redis.aclose()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def test_a_batch_of_purchases_over_two_sales_is_decided_in_arrival_order(
    infra: InfraSettings,
) -> None:
    """Concurrent purchases share one reserve.lua call per sale: each is still decided as
    if alone, in the order it arrived (a repeat buyer, stock running out mid-batch)."""
    redis = Redis.from_url(infra.redis_url, decode_responses=True)
    starts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    start_ms = int(starts.timestamp() * 1000)
    sales = {random_sale_id(): 5, random_sale_id(): 3}
    for sale_id, stock in sales.items():
        await load_sale(redis, sale_id, stock, starts, starts + timedelta(hours=1), 2)
    states = {s: SaleState(start_ms, start_ms + HOUR_MS, 2, n, {}) for s, n in sales.items()}
    rng = random.Random(7)
    purchases = [
        (rng.choice(list(sales)), f"u-{rng.randrange(6)}", rng.choice((1, 1, 2, 3)))
        for _ in range(24)
    ]
    reservations = RedisReservations(redis, 60, random_topic())
    now_ms = start_ms + 1_000
    try:
        got = await asyncio.gather(*(
            reservations.reserve(sale_id, user_id, quantity, f"o-{i}", now_ms, "{}")
            for i, (sale_id, user_id, quantity) in enumerate(purchases)
        ))  # fmt: skip
        expected = []
        for i, (sale_id, user_id, quantity) in enumerate(purchases):
            answer = decide(states[sale_id], user_id, quantity, f"o-{i}", now_ms)
            states[sale_id] = _after(states[sale_id], user_id, answer)
            expected.append(answer)
        assert got == expected
        outcomes = {answer.outcome for answer in got}
        assert {Outcome.RESERVED, Outcome.PENDING, Outcome.SOLD_OUT} <= outcomes
        for sale_id, state in states.items():
            assert await redis.get(SaleKeys(sale_id).stock) == str(state.stock)
    finally:
        for sale_id in sales:
            await redis.delete(*SaleKeys(sale_id).all())
            await redis.srem("flashsale:sales", sale_id)
        await redis.aclose()


def _after(state: SaleState, user_id: str, answer: Reservation) -> SaleState:
    """The sale once `answer` was applied: a reservation takes its stock and the user's
    slot, and stays pending (nothing acknowledges it here)."""
    if answer.outcome is not Outcome.RESERVED or answer.order_id is None:
        return state
    assert answer.stock_left is not None
    return replace(
        state,
        stock=answer.stock_left,
        buyers={**state.buyers, user_id: answer.order_id},
        pending=state.pending | {answer.order_id},
    )
