"""The burst: many more purchase attempts than units, through the gateway, all at once.

The demo plays the trusted auth proxy in front of the gateway: it names each buyer with
`X-Authenticated-User`, which a gateway in dev mode believes from loopback.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import aiohttp
import orjson

__all__ = ["ADMITTED", "Answer", "attempt_schedule", "burst"]

ADMITTED = "admitted"
TIMEOUT = aiohttp.ClientTimeout(total=30)


@dataclass(frozen=True)
class Answer:
    """What one attempt got back, as the client saw it."""

    status: int  # 0: no HTTP answer (refused, reset, timed out)
    outcome: str  # "admitted" (202), else the body's error: sold_out, rate_limited, ...
    order_id: str | None  # the order token of a 202
    latency_s: float


def attempt_schedule(attempts: int, users: int, seed: int = 0) -> list[int]:
    """Attempt i is user i % users, shuffled: with more attempts than users some try twice,
    and a second try may land while there is still stock (already_purchased)."""
    schedule = [i % users for i in range(attempts)]
    random.Random(seed).shuffle(schedule)  # noqa: S311 (an order of arrival, not a secret)
    return schedule


def burst(
    gateway_url: str,
    sale_id: str,
    buyers: list[str],
    concurrency: int,
    on_answer: Callable[[Answer], None] = lambda _: None,
) -> list[Answer]:
    """One attempt per entry of `buyers` (a user may appear twice), `concurrency` at a time.

    aiohttp rather than httpx: httpx's connection pool slows down sharply with many
    concurrent requests, and the demo would end up measuring its own client.
    """
    url = f"{gateway_url}/api/sales/{sale_id}/orders"
    return asyncio.run(_burst(url, iter(buyers), concurrency, on_answer))


async def _burst(
    url: str, buyers: Iterator[str], concurrency: int, on_answer: Callable[[Answer], None]
) -> list[Answer]:
    answers: list[Answer] = []

    async def worker(session: aiohttp.ClientSession) -> None:
        for user in buyers:  # shared by the workers: each takes the next buyer
            answer = await _buy(session, url, user)
            answers.append(answer)
            on_answer(answer)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return answers


async def _buy(session: aiohttp.ClientSession, url: str, user: str) -> Answer:
    started = time.perf_counter()
    payload = {"user_id": user, "quantity": 1}
    try:
        async with session.post(
            url, json=payload, headers={"X-Authenticated-User": user}
        ) as response:
            status, body = response.status, await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Answer(0, f"no answer: {type(exc).__name__}", None, time.perf_counter() - started)
    latency = time.perf_counter() - started
    parsed = _json_object(body)
    if status == 202:
        return Answer(status, ADMITTED, str(parsed.get("order_id")), latency)
    return Answer(status, str(parsed.get("error", status)), None, latency)


def _json_object(body: bytes) -> dict[str, object]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
