"""The optional Redis-backed global bucket, for several gateway replicas.

Asked only after the local buckets admitted a request, i.e. for requests that are about
to be forwarded anyway: the 429 path itself never waits on Redis. If Redis is down the
gateway fails open to its local global bucket, which still bounds each replica.
"""

from __future__ import annotations

import logging
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from gateway.bucket import Rate

__all__ = ["SharedBucket"]

log = logging.getLogger(__name__)
SOURCE = (Path(__file__).parent / "shared_bucket.lua").read_text()


class SharedBucket:
    def __init__(self, redis: Redis, key: str, rate: Rate) -> None:
        self._redis = redis
        self._key = key
        self._args = [round(rate.interval * 1000, 3), round(rate.tolerance * 1000, 3)]
        self._sha: str | None = None

    async def take(self) -> float:
        """Seconds to wait; 0.0 when admitted (or when Redis cannot be asked)."""
        try:
            if self._sha is None:
                self._sha = await self._redis.script_load(SOURCE)
            try:
                wait_ms = await self._redis.evalsha(self._sha, 1, self._key, *self._args)
            except NoScriptError:
                self._sha = await self._redis.script_load(SOURCE)
                wait_ms = await self._redis.evalsha(self._sha, 1, self._key, *self._args)
        except RedisError:
            log.warning("shared bucket unavailable; local buckets only", exc_info=True)
            return 0.0
        return float(wait_ms) / 1000
