"""A fixed offered load: POST at a steady rate, whatever the server's answers take.

An open-loop client (wrk2 is not available): request i is sent at start + i/rate, in a
task of its own, so a slow server does not slow the offered load down and its latency
is what the buyer sees. Used to compare the coupled checkout with the pipeline under the
same load.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

import aiohttp

from flashsale.demo.outcome import percentile_ms

__all__ = ["Offered", "offer"]

TIMEOUT = aiohttp.ClientTimeout(total=15)


@dataclass(frozen=True)
class Offered:
    """What a fixed load got back."""

    rate: float  # requests/s offered
    answered_rps: float  # answers/s, over the time until the last answer
    statuses: Counter[int]  # 0: no HTTP answer
    p50_ms: float
    p99_ms: float

    def success_rate(self, status: int) -> float:
        return self.statuses[status] / max(1, sum(self.statuses.values()))


def offer(url: str, rate: float, seconds: float, prefix: str) -> Offered:
    """`rate` POSTs/s for `seconds` to `url`, one fresh user per request."""
    return asyncio.run(_offer(url, rate, int(rate * seconds), prefix))


async def _offer(url: str, rate: float, n: int, prefix: str) -> Offered:
    answers: list[tuple[int, float]] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session:
        started = time.perf_counter()
        tasks = []
        for i in range(n):
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
            user = f"{prefix}-{i}"
            tasks.append(asyncio.create_task(_post(session, url, user, answers)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    latencies = [latency for status, latency in answers if status]
    return Offered(
        rate=rate,
        answered_rps=len(answers) / elapsed,
        statuses=Counter(status for status, _ in answers),
        p50_ms=percentile_ms(latencies, 0.5),
        p99_ms=percentile_ms(latencies, 0.99),
    )


async def _post(
    session: aiohttp.ClientSession, url: str, user: str, answers: list[tuple[int, float]]
) -> None:
    sent = time.perf_counter()
    try:
        async with session.post(url, json={"user_id": user, "quantity": 1}) as response:
            await response.read()
            answers.append((response.status, time.perf_counter() - sent))
    except (aiohttp.ClientError, TimeoutError):
        answers.append((0, time.perf_counter() - sent))
