"""The Redis shared bucket over a hand-written fake client (the real one: integration)."""

from __future__ import annotations

from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.adapters.shared_bucket import SOURCE, RedisSharedBucket
from gateway.bucket import Rate


class FakeScript:
    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[list[str], list[float]]] = []

    async def __call__(self, keys: list[str], args: list[float]) -> Any:
        self.calls.append((keys, args))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeRedis:
    """Only what the adapter uses: register_script (redis-py's NOSCRIPT-safe wrapper)."""

    def __init__(self, *answers: Any) -> None:
        self.script = FakeScript(list(answers))
        self.registered: list[str] = []

    def register_script(self, source: str) -> FakeScript:
        self.registered.append(source)
        return self.script


async def test_the_wait_in_seconds_and_the_rate_in_milliseconds() -> None:
    redis = FakeRedis(0, 1500)
    bucket = RedisSharedBucket(redis, "k", Rate(per_second=4, burst=3))  # type: ignore[arg-type]
    assert [await bucket.take(), await bucket.take()] == [0.0, 1.5]
    assert redis.registered == [SOURCE]
    assert redis.script.calls[0] == (["k"], [250.0, 500.0])  # interval, tolerance


async def test_redis_down_fails_open() -> None:
    redis = FakeRedis(RedisConnectionError("refused"), 0)
    bucket = RedisSharedBucket(redis, "k", Rate(1, 1))  # type: ignore[arg-type]
    assert await bucket.take() == 0.0
    assert await bucket.take() == 0.0
