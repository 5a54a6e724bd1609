"""Redis: the stock left over the active sales (flashsale.stock's key layout) and the
worker count the autoscaling supervisor publishes."""

from __future__ import annotations

import time
from collections.abc import Callable

from redis.asyncio import Redis

from dashboard.sample import SaleStock, StockLevel, stock_level
from flashsale.autoscale.status import workers_key
from flashsale.stock import SALES_SET, SaleKeys

__all__ = ["RedisStockLevels", "RedisWorkers"]


class RedisStockLevels:
    """Every sale's stock in flashsale:sales, or the one `watched` sale's."""

    def __init__(
        self, redis: Redis, watched: str | None, wall_clock: Callable[[], float] = time.time
    ) -> None:
        self._redis, self._watched, self._wall_clock = redis, watched, wall_clock

    async def read(self) -> StockLevel:
        if self._watched is not None:
            sale_ids = [self._watched]
        else:
            sale_ids = sorted(_text(s) for s in await self._redis.smembers(SALES_SET))
        async with self._redis.pipeline(transaction=False) as pipe:
            for sale_id in sale_ids:
                keys = SaleKeys(sale_id)
                pipe.hmget(keys.meta, "starts_at_ms", "ends_at_ms")
                pipe.get(keys.stock)
            replies = await pipe.execute()
        sales = [
            SaleStock(sale_id, _int(meta[0]), _int(meta[1]), _int(units))
            for sale_id, meta, units in zip(sale_ids, replies[::2], replies[1::2], strict=True)
        ]
        return stock_level(int(self._wall_clock() * 1000), sales, self._watched)


class RedisWorkers:
    def __init__(self, redis: Redis, group_id: str) -> None:
        self._redis, self._key = redis, workers_key(group_id)

    async def count(self) -> int | None:
        value = await self._redis.get(self._key)
        return None if value is None else int(value)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _int(value: str | bytes | None) -> int:
    """A missing field reads as 0: a sale without meta is never active."""
    return int(value) if value is not None else 0
