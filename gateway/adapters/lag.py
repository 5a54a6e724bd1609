"""The consumers' lag, read from the Redis key the autoscaling supervisor writes every
poll (`flashsale:lag:<group id>`, a plain integer with a 10 s TTL): the gateway asks Redis,
never Kafka, so a thousand gateway replicas cost the brokers nothing."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.ports import LagUnavailable

__all__ = ["RedisLagReader"]


class RedisLagReader:
    """gateway.ports.LagReader over one Redis key."""

    def __init__(self, redis: Redis, key: str) -> None:
        self._redis = redis
        self._key = key

    async def read(self) -> int | None:
        try:
            value = await self._redis.get(self._key)
        except RedisError as exc:
            raise LagUnavailable(f"redis: {exc!r}") from exc
        if value is None:
            return None  # expired: the supervisor stopped writing, the lag is unknown
        try:
            return int(value)
        except ValueError:
            raise LagUnavailable(f"{self._key} holds {value!r}, not a number") from None

    async def aclose(self) -> None:
        await self._redis.aclose()
