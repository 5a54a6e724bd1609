"""The pool's state in Redis, for the gateway's backpressure and the dashboard: the lag as
a plain integer string and the worker count, each with a short TTL, so that a dead
supervisor's numbers vanish (a missing key means "unknown") instead of going stale."""

from __future__ import annotations

import logging

from redis import Redis, RedisError

__all__ = ["RedisPoolStatus", "lag_key", "workers_key"]

log = logging.getLogger(__name__)

TTL_S = 10


def lag_key(group: str) -> str:
    return f"flashsale:lag:{group}"


def workers_key(group: str) -> str:
    return f"flashsale:pool:{group}:workers"


class RedisPoolStatus:
    def __init__(self, redis: Redis, group: str, ttl_s: int = TTL_S) -> None:
        self._redis, self._group, self._ttl_s = redis, group, ttl_s

    @classmethod
    def from_url(cls, url: str, group: str) -> RedisPoolStatus:
        return cls(Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2), group)

    def publish(self, lag: int | None, workers: int) -> None:
        """Both keys in one round trip. Redis down: logged, and the pool goes on scaling."""
        pipe = self._redis.pipeline(transaction=False)
        if lag is not None:
            pipe.set(lag_key(self._group), str(lag), ex=self._ttl_s)
        pipe.set(workers_key(self._group), str(workers), ex=self._ttl_s)
        try:
            pipe.execute()
        except RedisError as error:
            log.warning("could not publish the pool's status to Redis: %s", error)

    def close(self) -> None:
        self._redis.close()
