"""The load: purchase attempts through the gateway at a steady rate, from a thread of its
own while the test injects a fault, and a record of every 202 token the clients received.

Each attempt is a polite client: a fresh buyer (a few come back a second time, to test the
one-per-user rule), its own Idempotency-Key, and on a 503 or 429 (or no answer at all) it
waits the Retry-After and sends the SAME request with the SAME key again, until a final
answer or its deadline. aiohttp rather than httpx: see flashsale/demo/burst.py.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
import orjson

from tests.faults.sales import SaleRotation

# Answers a polite client retries with the same key: nothing was decided for it.
RETRIED = {0, 429, 502, 503, 504}
TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass(frozen=True)
class Token:
    """A 202: the order id the buyer holds, and what it was for."""

    order_id: str
    user: str
    sale_id: str
    key: str
    at: float  # time.monotonic() of the answer


@dataclass
class LoadResult:
    offered: int = 0  # attempts started (each one a buyer with a key)
    tokens: list[Token] = field(default_factory=list)
    # Order ids learnt from `409 already_purchased` (a retry after a lost or voided answer,
    # or a buyer's second try): the buyer holds that order too, so it must exist.
    learnt: list[Token] = field(default_factory=list)
    finals: Counter[str] = field(default_factory=Counter)  # each attempt's last answer
    answers: list[tuple[float, int]] = field(default_factory=list)  # every answer, retries too
    finals_of: dict[str, list[str]] = field(default_factory=dict)  # user -> its attempts' ends

    def statuses(self, start: float, end: float) -> Counter[int]:
        return Counter(status for at, status in self.answers if start <= at <= end)

    def first_202_after(self, moment: float) -> float | None:
        """Seconds from `moment` until a client next got a 202 (None: never again)."""
        later = [t.at for t in self.tokens if t.at >= moment]
        return min(later) - moment if later else None

    def longest_without_202(self, start: float, end: float) -> float:
        """The longest stretch within [start, end] in which no client got a 202."""
        times = sorted(t.at for t in self.tokens if start <= t.at <= end)
        edges = [start, *times, end]
        return max(b - a for a, b in itertools.pairwise(edges))


class Load:
    def __init__(
        self,
        gateway_url: str,
        rotation: SaleRotation,
        rate: float,
        *,
        seed: int = 0,
        repeat_share: float = 0.05,
        max_in_flight: int = 200,
        deadline_s: float = 40.0,
    ) -> None:
        self.url = gateway_url
        self.rotation, self.rate, self.deadline_s = rotation, rate, deadline_s
        self.repeat_share, self.max_in_flight = repeat_share, max_in_flight
        self.rng = random.Random(seed)
        self.result = LoadResult()
        self._buyers: list[tuple[str, str]] = []  # (user, sale) of earlier attempts
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> Load:
        self._thread.start()
        return self

    def stop(self) -> LoadResult:
        """No new attempt; the ones under way finish (retries included, to their deadline)."""
        self._stop.set()
        self._thread.join(self.deadline_s + 30)
        assert not self._thread.is_alive(), "the load did not finish its attempts"
        return self.result

    async def _run(self) -> None:
        slots = asyncio.Semaphore(self.max_in_flight)
        connector = aiohttp.TCPConnector(limit=self.max_in_flight)
        async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session:
            tasks: set[asyncio.Task[None]] = set()
            loop = asyncio.get_running_loop()
            next_at = loop.time()
            while not self._stop.is_set():
                await slots.acquire()  # an outage holds every slot: the clients wait
                user, sale = self._next_buyer()
                task = asyncio.create_task(self._attempt(session, user, sale))
                task.add_done_callback(tasks.discard)
                task.add_done_callback(lambda _: slots.release())
                tasks.add(task)
                # A steady rate; after a stall, go on from now rather than catch up at once.
                next_at = max(next_at + 1 / self.rate, loop.time() - 1)
                await asyncio.sleep(max(0.0, next_at - loop.time()))
            await asyncio.gather(*tasks)

    def _next_buyer(self) -> tuple[str, str]:
        self.result.offered += 1
        if self._buyers and self.rng.random() < self.repeat_share:
            return self.rng.choice(self._buyers)  # the same buyer, same sale, a new key
        buyer = (f"buyer-{uuid.uuid4().hex[:12]}", self.rotation.pick(self.rng))
        self._buyers.append(buyer)
        return buyer

    async def _attempt(self, session: aiohttp.ClientSession, user: str, sale: str) -> None:
        key, give_up_at = uuid.uuid4().hex, time.monotonic() + self.deadline_s
        while True:
            status, body, retry_after = await _post(session, self.url, sale, user, key)
            now = time.monotonic()
            self.result.answers.append((now, status))
            if status == 202:
                self.result.tokens.append(Token(str(body["order_id"]), user, sale, key, now))
                self._final(user, "202")
                return
            if status == 409 and body.get("error") == "sold_out":
                self.rotation.sold_out(sale)
            if status == 409 and body.get("order_id"):
                self.result.learnt.append(Token(str(body["order_id"]), user, sale, key, now))
            if status not in RETRIED or now > give_up_at:
                gave_up = " (gave up)" if status in RETRIED else ""
                self._final(user, f"{status} {body.get('error', '')}{gave_up}")
                return
            await asyncio.sleep(min(retry_after, 2.0) if status else 0.25)

    def _final(self, user: str, outcome: str) -> None:
        self.result.finals[outcome] += 1
        self.result.finals_of.setdefault(user, []).append(outcome)


async def _post(
    session: aiohttp.ClientSession, base: str, sale: str, user: str, key: str
) -> tuple[int, dict[str, object], float]:
    """(status, JSON body, Retry-After seconds); status 0 when no answer came."""
    headers = {"X-Authenticated-User": user, "Idempotency-Key": key}
    try:
        async with session.post(
            f"{base}/api/sales/{sale}/orders",
            json={"user_id": user, "quantity": 1},
            headers=headers,
        ) as response:
            raw, status = await response.read(), response.status
            retry_after = float(response.headers.get("Retry-After", "1") or 1)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return 0, {"error": type(exc).__name__}, 0.25
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = {}
    return status, body if isinstance(body, dict) else {}, retry_after
