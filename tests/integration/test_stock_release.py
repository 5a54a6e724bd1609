"""release.lua on the real Redis: stock comes back once per order id, whatever the retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys, StockReleaser, load_sale
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
