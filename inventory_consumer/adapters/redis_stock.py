"""The inventory consumer's Redis side, synchronous like its threads (confluent-kafka,
SQLAlchemy): returning stock (release.lua), recording drift (drift.lua) and reinstating an
order whose late void lost (reinstate.lua). redis-py's `register_script` reloads a script
that a restarted Redis forgot. The client's pool makes one instance safe across threads.
"""

from __future__ import annotations

from redis import Redis

from flashsale.stock import SaleKeys, script_source

__all__ = ["RedisStock"]


class RedisStock:
    """Both Redis ports of ports.py: `StockReleases` (the relay) and `StockDrift` (the handler)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._release = redis.register_script(script_source("release"))
        self._drift = redis.register_script(script_source("drift"))
        self._reinstate = redis.register_script(script_source("reinstate"))

    @classmethod
    def from_url(cls, url: str) -> RedisStock:
        return cls(Redis.from_url(url, decode_responses=True))

    def release(self, sale_id: str, order_id: str, user_id: str, quantity: int) -> bool:
        args: list[str | int] = [order_id, user_id, quantity, sale_id]
        return int(self._release(keys=SaleKeys(sale_id).all(), args=args)) == 1

    def record_drift(self, sale_id: str, order_id: str, user_id: str) -> bool:
        args = [order_id, user_id, sale_id]
        return int(self._drift(keys=SaleKeys(sale_id).all(), args=args)) == 1

    def reinstate(self, sale_id: str, order_id: str, user_id: str) -> None:
        keys = SaleKeys(sale_id)
        hashes = [keys.buyers, keys.voids, keys.pending, keys.pending_at]
        self._reinstate(keys=hashes, args=[user_id, order_id])

    def close(self) -> None:
        self._redis.close()
