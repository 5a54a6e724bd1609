"""release.lua on the real Redis: stock comes back once per order id, whatever the retries;
with mark_void.lua and reserve.lua, a voided user's slot is held until then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from flashsale.settings import InfraSettings
from flashsale.stock import SALES_SET, SaleKeys, StockReleaser, load_sale
from order_service.adapters.reservations import RedisReservations
from order_service.domain import Outcome
from tests.random_refs import random_sale_id, random_user_id

pytestmark = pytest.mark.integration


async def test_release_is_idempotent_per_order_and_frees_only_that_orders_user(
    infra: InfraSettings,
) -> None:
    redis = Redis.from_url(infra.redis_url, decode_responses=True)
    sale_id, user_id = random_sale_id(), random_user_id()
    keys = SaleKeys(sale_id)
    now = datetime.now(UTC)
    await load_sale(redis, sale_id, 5, now, now + timedelta(hours=1), per_user_limit=2)
    # As reserve does: stock taken, the user recorded against order o-1, a pending entry.
    await redis.decrby(keys.stock, 2)
    await redis.hset(keys.buyers, user_id, "o-1")
    await redis.hset(keys.pending, "o-1", "{}")
    await redis.zadd(keys.pending_at, {"o-1": 1})

    releaser = StockReleaser(redis)
    assert await releaser.release(sale_id, "o-1", user_id, 2) is True
    assert await releaser.release(sale_id, "o-1", user_id, 2) is False
    assert await redis.get(keys.stock) == "5"
    assert await redis.hget(keys.buyers, user_id) is None
    assert await redis.hlen(keys.pending) == 0
    assert await redis.zcard(keys.pending_at) == 0

    # A later order of the same user keeps its slot when an older order is released.
    await redis.hset(keys.buyers, user_id, "o-2")
    assert await releaser.release(sale_id, "o-0", user_id, 1) is True
    assert await redis.hget(keys.buyers, user_id) == "o-2"

    # A slot the order service marked voided is freed by that order's release only.
    await redis.hset(keys.buyers, user_id, "void:o-3")
    assert await releaser.release(sale_id, "o-2", user_id, 1) is True
    assert await redis.hget(keys.buyers, user_id) == "void:o-3"
    assert await releaser.release(sale_id, "o-3", user_id, 1) is True
    assert await redis.hget(keys.buyers, user_id) is None
    await redis.hset(keys.buyers, user_id, "o-4")  # bought again: a repeated release keeps it
    assert await releaser.release(sale_id, "o-3", user_id, 1) is False
    assert await redis.hget(keys.buyers, user_id) == "o-4"
    await redis.delete(*keys.all())
    await redis.aclose()


async def test_release_survives_a_script_flush(infra: InfraSettings) -> None:
    redis = Redis.from_url(infra.redis_url, decode_responses=True)
    sale_id = random_sale_id()
    now = datetime.now(UTC)
    await load_sale(redis, sale_id, 1, now, now + timedelta(hours=1), per_user_limit=1)
    releaser = StockReleaser(redis)
    assert await releaser.release(sale_id, "a", "u", 1)
    await redis.script_flush()  # what a Redis restart does to loaded scripts
    assert await releaser.release(sale_id, "b", "u", 1)
    assert await redis.get(SaleKeys(sale_id).stock) == "3"
    await redis.delete(*SaleKeys(sale_id).all())
    await redis.aclose()


async def test_a_voided_slot_waits_for_its_release_and_never_takes_a_newer_order(
    infra: InfraSettings,
) -> None:
    redis = Redis.from_url(infra.redis_url, decode_responses=True)
    sale_id, user_id = random_sale_id(), random_user_id()
    keys = SaleKeys(sale_id)
    now = datetime.now(UTC)
    await load_sale(redis, sale_id, 5, now, now + timedelta(hours=1), per_user_limit=1)
    reservations = RedisReservations(redis, 60, "no-such-topic")
    now_ms = int(now.timestamp() * 1000) + 1

    async def reserve(order_id: str) -> Outcome:
        return (await reservations.reserve(sale_id, user_id, 1, order_id, now_ms, "{}")).outcome

    assert await reserve("o-1") is Outcome.RESERVED
    await reservations.mark_void(sale_id, user_id, "o-1", "{}")
    assert await redis.hget(keys.buyers, user_id) == "void:o-1"
    assert await redis.zcard(keys.pending_at) == 0 and await redis.hexists(keys.voids, "o-1")
    assert await reserve("o-2") is Outcome.VOID_PENDING  # not already_purchased with o-1
    await reservations.void_settled(sale_id, "o-1")  # acked: still held
    assert await reserve("o-2") is Outcome.VOID_PENDING
    assert await StockReleaser(redis).release(sale_id, "o-1", user_id, 1)  # the void applied
    assert await reserve("o-3") is Outcome.RESERVED
    # A late mark of an order already released (and bought again) leaves the newer slot.
    await reservations.mark_void(sale_id, user_id, "o-1", "{}")
    assert await redis.hget(keys.buyers, user_id) == "o-3"
    assert await redis.get(keys.stock) == "4"
    await redis.delete(*keys.all())
    await redis.srem(SALES_SET, sale_id)
    await redis.aclose()
