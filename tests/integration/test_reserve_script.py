"""reserve.lua agrees with `domain.decide`, case by case, on the real Redis: the pure rules
are the reference the unit tests pin, the script is what runs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys, load_sale
from order_service.domain import VOID_PREFIX, Outcome, SaleState, decide
from order_service.reservations import RedisReservations
from tests.random_refs import random_sale_id, random_topic

pytestmark = pytest.mark.integration

HOUR_MS = 3_600_000

# (case, stock, per-user limit, the user's buyers entry, quantity, now relative to start)
CASES = [
    ("reserved", 5, 2, None, 2, 1),
    ("sold out", 1, 2, None, 2, 1),
    ("no stock at all", 0, 1, None, 1, 1),
    ("over the limit", 5, 1, None, 2, 1),
    ("before the window", 5, 1, None, 1, -1),
    ("after the window", 5, 1, None, 1, HOUR_MS + 1),
    ("already purchased, even after the window", 5, 1, "order-1", 1, HOUR_MS + 1),
    ("voided attempt pending", 5, 1, VOID_PREFIX + "order-1", 1, 1),
]


@pytest.mark.parametrize(
    ("case", "stock", "limit", "entry", "quantity", "offset_ms"), CASES, ids=[c[0] for c in CASES]
)
async def test_the_script_answers_as_decide_does(
    infra: InfraSettings,
    case: str,
    stock: int,
    limit: int,
    entry: str | None,
    quantity: int,
    offset_ms: int,
) -> None:
    redis = Redis.from_url(infra.redis_url, decode_responses=True)
    sale_id, user_id, order_id = random_sale_id(), "u-1", str(uuid.uuid4())
    starts = datetime.now(UTC).replace(microsecond=0)
    await load_sale(redis, sale_id, stock, starts, starts + timedelta(hours=1), limit)
    if entry is not None:
        await redis.hset(SaleKeys(sale_id).buyers, user_id, entry)
    start_ms = int(starts.timestamp() * 1000)
    now_ms = start_ms + offset_ms
    state = SaleState(start_ms, start_ms + HOUR_MS, limit, stock, {user_id: entry} if entry else {})
    try:
        expected = decide(state, user_id, quantity, order_id, now_ms)
        got = await RedisReservations(redis, 60, random_topic()).reserve(
            sale_id, user_id, quantity, order_id, now_ms, "{}"
        )
        assert got == expected
        unknown = await RedisReservations(redis, 60, random_topic()).reserve(
            random_sale_id("missing"), user_id, quantity, order_id, now_ms, "{}"
        )
        assert unknown == decide(None, user_id, quantity, order_id, now_ms)
        assert unknown.outcome is Outcome.UNKNOWN_SALE
    finally:
        await redis.delete(*SaleKeys(sale_id).all())
        await redis.srem("flashsale:sales", sale_id)
        await redis.aclose()
