"""One pipeline carries many callers' purchases and acks (redis_batches.py): on the real
Redis, a caller's failure stays that caller's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from flashsale.ids import uuid7
from flashsale.settings import InfraSettings
from flashsale.stock import SALES_SET, SaleKeys, load_sale
from order_service.adapters.redis_batches import pointer_bucket
from order_service.adapters.reservations import RedisReservations
from order_service.domain import Outcome
from tests.random_refs import random_sale_id, random_topic

pytestmark = pytest.mark.integration


async def test_a_malformed_ack_fails_alone_and_the_purchases_beside_it_are_decided(
    infra: InfraSettings,
) -> None:
    redis = Redis.from_url(infra.redis_url, decode_responses=True)
    sale_id, now = random_sale_id(), datetime.now(UTC)
    await load_sale(redis, sale_id, 5, now - timedelta(minutes=1), now + timedelta(hours=1), 1)
    reservations = RedisReservations(redis, 60, random_topic())
    now_ms = int(now.timestamp() * 1000)
    try:
        bad_ack, *bought = await asyncio.gather(
            reservations.acknowledged(sale_id, "not-an-order-id"),
            *(
                reservations.reserve(sale_id, f"u-{n}", 1, str(uuid7()), now_ms, "{}")
                for n in range(3)
            ),
            return_exceptions=True,
        )
        assert isinstance(bad_ack, ValueError)
        assert [b.outcome for b in bought] == [Outcome.RESERVED] * 3  # type: ignore[union-attr]
    finally:
        await redis.delete(*SaleKeys(sale_id).all())
        await redis.srem(SALES_SET, sale_id)
        await redis.aclose()


async def test_an_ack_whose_sale_keys_fail_does_not_fail_the_ack_of_another_sale(
    infra: InfraSettings,
) -> None:
    redis = Redis.from_url(infra.redis_url, decode_responses=True)
    broken, fine = random_sale_id(), random_sale_id()
    await redis.set(SaleKeys(broken).pending, "not a hash")  # HDEL answers WRONGTYPE
    reservations = RedisReservations(redis, 60, random_topic())
    broken_order, fine_order = str(uuid7()), str(uuid7())
    try:
        failed, acked = await asyncio.gather(
            reservations.acknowledged(broken, broken_order),
            reservations.acknowledged(fine, fine_order),
            return_exceptions=True,
        )
        assert isinstance(failed, Exception) and "WRONGTYPE" in str(failed)
        assert acked is None
        assert await redis.hget(pointer_bucket(fine_order), fine_order) == fine
    finally:
        await redis.delete(*SaleKeys(broken).all(), *SaleKeys(fine).all())
        await redis.hdel(pointer_bucket(fine_order), fine_order, broken_order)
        await redis.aclose()
