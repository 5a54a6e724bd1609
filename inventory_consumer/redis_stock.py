"""A synchronous face for flashsale.stock.StockReleaser, for the consumer's worker threads.

The consumer threads are synchronous (confluent-kafka, SQLAlchemy): each returner owns a
private event loop and runs the one shared, idempotent release script on it. One
returner per thread: an event loop is not thread-safe.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from redis.asyncio import Redis

from flashsale.stock import StockReleaser

__all__ = ["RedisStockReturner", "StockReturner"]


class StockReturner(Protocol):
    def release(self, sale_id: str, order_id: str, user_id: str, quantity: int) -> bool: ...


class RedisStockReturner:
    def __init__(self, redis_url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._redis = Redis.from_url(redis_url)
        self._releaser = StockReleaser(self._redis)

    def release(self, sale_id: str, order_id: str, user_id: str, quantity: int) -> bool:
        return self._loop.run_until_complete(
            self._releaser.release(sale_id, order_id, user_id, quantity)
        )

    def close(self) -> None:
        self._loop.run_until_complete(self._redis.aclose())
        self._loop.close()
