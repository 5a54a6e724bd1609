"""The optional Redis-backed global bucket, for several gateway replicas.

Asked only after the local buckets admitted a request, i.e. for requests that are about
to be forwarded anyway: the 429 path itself never waits on Redis. If Redis is down the
gateway fails open to its local global bucket, which still bounds each replica.
"""

from __future__ import annotations

import logging
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.bucket import Rate

__all__ = ["RedisSharedBucket"]

log = logging.getLogger(__name__)
SOURCE = (Path(__file__).parent / "shared_bucket.lua").read_text()


class RedisSharedBucket:
    """gateway.ports.SharedBucket as one GCRA tat in Redis (shared_bucket.lua)."""

    def __init__(self, redis: Redis, key: str, rate: Rate) -> None:
        # register_script reloads the script when a restarted Redis forgot it (NOSCRIPT).
        self._script = redis.register_script(SOURCE)
        self._keys = [key]
        self._args = [round(rate.interval * 1000, 3), round(rate.tolerance * 1000, 3)]

    async def take(self) -> float:
        """Seconds to wait; 0.0 when admitted (or when Redis cannot be asked)."""
        try:
            wait_ms = await self._script(keys=self._keys, args=self._args)
        except RedisError:
            log.warning("shared bucket unavailable; local buckets only", exc_info=True)
            return 0.0
        return float(wait_ms) / 1000
