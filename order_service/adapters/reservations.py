"""Redis adapters: the reserve script, pending reservations and voids, idempotency keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from redis.asyncio import Redis

from flashsale.contracts import CreateSale
from flashsale.stock import SALES_SET, SaleKeys, load_sale
from order_service.adapters.redis_batches import (
    RESERVE_SOURCE,
    Purchase,
    RedisBatches,
    pointer_bucket,
)
from order_service.domain import Outcome, Reservation, ended_and_settled
from order_service.ports import Due

__all__ = [
    "RESERVE_SOURCE",
    "RedisIdempotency",
    "RedisReservations",
    "RedisSaleStock",
    "pointer_bucket",
]

MARK_VOID_SOURCE = (Path(__file__).parent / "mark_void.lua").read_text()
# Scanning every sale at once would be one huge pipeline: go by chunks.
SCAN_CHUNK = 500
IN_FLIGHT = ""  # an Idempotency-Key claimed by a request that has not answered yet


class RedisReservations:
    """Pending and void entries are stored as "<orders topic>\n<event JSON>": recovery
    only takes the entries of its own topic, so deployments (or test runs) sharing one
    Redis with different topics never publish each other's orders."""

    def __init__(self, redis: Redis, pointer_ttl_s: int, topic: str) -> None:
        self._redis = redis
        self._tag = topic + "\n"
        # Concurrent requests' reserve calls and acks share pipelines (redis_batches.py).
        self._batches = RedisBatches(redis, pointer_ttl_s)
        # redis-py's Script sends EVALSHA and reloads the script when a restarted Redis
        # forgot it (NOSCRIPT).
        self._mark_void = redis.register_script(MARK_VOID_SOURCE)

    def _untag(self, sale_id: str, order_id: object, entry: object) -> Due | None:
        text = _text(entry)
        if not text.startswith(self._tag):
            return None  # another deployment's order: its own recovery handles it
        return Due(sale_id, _text(order_id), text[len(self._tag) :])

    async def reserve(
        self, sale_id: str, user_id: str, quantity: int, order_id: str, now_ms: int, placed: str
    ) -> Reservation:
        outcome, found_id, number = await self._batches.reserve(
            Purchase(sale_id, (user_id, quantity, order_id, now_ms, self._tag + placed))
        )
        kind = Outcome(_text(outcome))
        return Reservation(
            kind,
            order_id=_text(found_id) or None,
            stock_left=int(str(number)) if kind in (Outcome.RESERVED, Outcome.SOLD_OUT) else None,
            per_user_limit=int(str(number)) if kind is Outcome.OVER_LIMIT else None,
        )

    async def acknowledged(self, sale_id: str, order_id: str) -> None:
        await self._batches.acknowledge(sale_id, order_id)

    async def mark_void(self, sale_id: str, user_id: str, order_id: str, voided: str) -> None:
        # One script (mark_void.lua): leaves the re-publish scan, joins the void scan, and
        # the user's slot says "void:<id>", all at once.
        keys = SaleKeys(sale_id)
        await self._mark_void(
            keys=[keys.buyers, keys.voids, keys.pending_at],
            args=[user_id, order_id, self._tag + voided],
        )

    async def void_settled(self, sale_id: str, order_id: str) -> None:
        await self._redis.hdel(SaleKeys(sale_id).voids, order_id)

    async def _sale_chunks(self) -> AsyncIterator[list[str]]:
        """Every sale id, SCAN_CHUNK at a time: one pipeline per chunk, not per sale."""
        sale_ids = sorted(_text(s) for s in await self._redis.smembers(SALES_SET))
        for start in range(0, len(sale_ids), SCAN_CHUNK):
            yield sale_ids[start : start + SCAN_CHUNK]

    async def due_pending(self, older_than_ms: int, limit: int) -> list[Due]:
        due: list[Due] = []
        async for chunk in self._sale_chunks():
            async with self._redis.pipeline(transaction=False) as pipe:
                for sale_id in chunk:
                    pipe.zrangebyscore(
                        SaleKeys(sale_id).pending_at, "-inf", older_than_ms, 0, limit
                    )
                found = await pipe.execute()
            for sale_id, order_ids in zip(chunk, found, strict=True):
                if order_ids:
                    payloads = await self._redis.hmget(SaleKeys(sale_id).pending, order_ids)
                    entries = zip(order_ids, payloads, strict=True)
                    due += [d for o, p in entries if p and (d := self._untag(sale_id, o, p))]
            if len(due) >= limit:
                break
        return due[:limit]

    async def due_voids(self, limit: int) -> list[Due]:
        due: list[Due] = []
        async for chunk in self._sale_chunks():
            async with self._redis.pipeline(transaction=False) as pipe:
                for sale_id in chunk:
                    pipe.hgetall(SaleKeys(sale_id).voids)
                found = await pipe.execute()
            for sale_id, voids in zip(chunk, found, strict=True):
                due += [d for o, p in voids.items() if (d := self._untag(sale_id, o, p))]
            if len(due) >= limit:
                break
        return due[:limit]

    async def sale_of_order(self, order_id: str) -> str | None:
        sale_id = await self._redis.hget(pointer_bucket(order_id), order_id)
        return None if sale_id is None else _text(sale_id)

    async def order_of_buyer(self, sale_id: str, user_id: str) -> str | None:
        slot = await self._redis.hget(SaleKeys(sale_id).buyers, user_id)
        return None if slot is None else _text(slot)

    async def prune_ended(self, ended_before_ms: int) -> list[str]:
        pruned: list[str] = []
        async for chunk in self._sale_chunks():
            async with self._redis.pipeline(transaction=False) as pipe:
                for sale_id in chunk:
                    keys = SaleKeys(sale_id)
                    pipe.hget(keys.meta, "ends_at_ms")
                    pipe.hlen(keys.pending)
                    pipe.hlen(keys.voids)
                found = await pipe.execute()
            for i, sale_id in enumerate(chunk):
                ends_at, pending, voids = found[3 * i : 3 * i + 3]
                ends_at_ms = None if ends_at is None else int(_text(ends_at))
                if ended_and_settled(ends_at_ms, pending + voids, ended_before_ms):
                    pruned.append(sale_id)
        if pruned:
            # The keys stay (the status route, checks and late releases read them); only
            # the scan forgets the sale. A repair's load_sale lists it again.
            await self._redis.srem(SALES_SET, *pruned)
        return pruned


class RedisIdempotency:
    def __init__(self, redis: Redis, ttl_s: int, claim_ttl_s: int) -> None:
        self._redis = redis
        self._ttl_s = ttl_s
        # A claim outlives a request (delivery timeout) but not a crash for long.
        self._claim_ttl_s = claim_ttl_s

    async def claim(self, sale_id: str, user_id: str, key: str) -> str | None:
        name = SaleKeys(sale_id).idempotency(user_id, key)
        if await self._redis.set(name, IN_FLIGHT, nx=True, ex=self._claim_ttl_s):
            return None
        stored = await self._redis.get(name)
        return IN_FLIGHT if stored is None else _text(stored)

    async def store(self, sale_id: str, user_id: str, key: str, answer: str) -> None:
        await self._redis.set(SaleKeys(sale_id).idempotency(user_id, key), answer, ex=self._ttl_s)

    async def forget(self, sale_id: str, user_id: str, key: str) -> None:
        await self._redis.delete(SaleKeys(sale_id).idempotency(user_id, key))


class RedisSaleStock:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def is_loaded(self, sale_id: str) -> bool:
        return bool(await self._redis.exists(SaleKeys(sale_id).meta))

    async def load(self, sale: CreateSale) -> None:
        await load_sale(
            self._redis, sale.sale_id, sale.stock, sale.starts_at, sale.ends_at, sale.per_user_limit
        )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
