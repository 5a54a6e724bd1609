"""The Redis lag reader over a hand-written fake client (the real one: integration)."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.adapters.lag import RedisLagReader
from gateway.ports import LagUnavailable

KEY = "flashsale:lag:flashsale.inventory"


class FakeRedis:
    def __init__(self, value: bytes | Exception | None) -> None:
        self.value = value
        self.asked: list[str] = []
        self.closed = False

    async def get(self, key: str) -> bytes | None:
        self.asked.append(key)
        if isinstance(self.value, Exception):
            raise self.value
        return self.value

    async def aclose(self) -> None:
        self.closed = True


async def test_the_lag_is_the_integer_in_the_key() -> None:
    redis = FakeRedis(b"61234")
    reader = RedisLagReader(redis, KEY)  # type: ignore[arg-type]
    assert await reader.read() == 61234
    assert redis.asked == [KEY]
    await reader.aclose()
    assert redis.closed


async def test_a_missing_key_is_an_unknown_lag() -> None:
    assert await RedisLagReader(FakeRedis(None), KEY).read() is None  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [RedisConnectionError("refused"), b"lots"])
async def test_redis_down_or_junk_is_unavailable(value: bytes | Exception) -> None:
    with pytest.raises(LagUnavailable):
        await RedisLagReader(FakeRedis(value), KEY).read()  # type: ignore[arg-type]
