"""The dashboard's use cases: take a sample of the pipeline, run the invariant checks, and
hand each sample to every browser watching (plus the recent ones to a browser that
connects). No I/O here: the stores are behind the ports."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dashboard.ports import (
    CounterScrape,
    GaugeScrape,
    InvariantChecks,
    OrderRows,
    StockLevels,
    TopicOffsets,
    Workers,
)
from dashboard.rates import RateMeter
from dashboard.sample import CheckSummary, Readings, chart_sample
from flashsale.cancellation import raise_if_cancelled

__all__ = ["Hub", "Sampler", "Sources", "keep_checking", "keep_sampling"]

log = logging.getLogger(__name__)
T = TypeVar("T")
Sample = dict[str, Any]
# Samples a slow browser may fall behind by before it misses some.
SUBSCRIBER_BACKLOG = 60


@dataclass(frozen=True)
class Sources:
    gateway: CounterScrape
    admission: CounterScrape
    offsets: TopicOffsets
    rows: OrderRows
    stock: StockLevels
    workers: Workers
    checks: InvariantChecks
    # The gateway's flashsale_gateway_backpressure gauge; None: not shown.
    backpressure: GaugeScrape | None = None


@dataclass
class Sampler:
    sources: Sources
    read_timeout_s: float = 2.0
    check_timeout_s: float = 60.0
    check_all_sales: bool = False
    wall_clock: Callable[[], float] = time.time
    clock: Callable[[], float] = time.monotonic
    meter: RateMeter = field(default_factory=RateMeter)
    peak_lag: int = 0
    last_check: CheckSummary | None = None
    watched_sale: str | None = None
    failing: set[str] = field(default_factory=set)

    async def read(self) -> Readings:
        """Every store at once; one that fails or is slow leaves its part None."""
        s = self.sources
        gateway, admission, offsets, rows, stock, workers = await asyncio.gather(
            self._guarded("gateway /metrics", s.gateway.read()),
            self._guarded("order service /metrics", s.admission.read()),
            self._guarded("Kafka offsets", s.offsets.read()),
            self._guarded("PostgreSQL orders", s.rows.count()),
            self._guarded("Redis stock", s.stock.read()),
            self._guarded("Redis workers", s.workers.count()),
        )
        backpressure = None
        if s.backpressure is not None:
            backpressure = await self._guarded("gateway backpressure", s.backpressure.read())
        return Readings(gateway, admission, offsets, rows, stock, workers, backpressure)

    async def sample(self) -> Sample:
        readings = await self.read()
        rates = self.meter.update(self.clock(), readings.counters(), readings.sources)
        if readings.offsets is not None:
            self.peak_lag = max(self.peak_lag, readings.offsets.lag)
        if readings.stock is not None:
            self.watched_sale = readings.stock.newest_sale
        return chart_sample(self.wall_clock(), readings, rates, self.peak_lag, self.last_check)

    async def check(self) -> None:
        """The invariants of the watched sale (or of every sale), kept for the samples."""
        sale = None if self.check_all_sales else self.watched_sale
        checking = self.sources.checks.run(sale)
        summary = await self._guarded("invariant checks", checking, self.check_timeout_s)
        if summary is not None:
            self.last_check = summary

    async def _guarded(
        self, name: str, read: Awaitable[T], timeout_s: float | None = None
    ) -> T | None:
        """The read's value, or None; a failure is logged when it starts and ends."""
        try:
            value = await asyncio.wait_for(read, timeout_s or self.read_timeout_s)
        except Exception as error:
            raise_if_cancelled()  # Python 3.11 may have turned it into a TimeoutError
            if name not in self.failing:
                log.warning("cannot read %s: %r (a gap in the charts)", name, error)
            self.failing.add(name)
            return None
        if name in self.failing:
            log.info("reading %s again", name)
            self.failing.discard(name)
        return value


class Hub:
    """Hands each sample, numbered, to every subscribed browser, and keeps the recent ones
    for a browser that connects or reconnects (SSE's Last-Event-ID: only what it missed)."""

    def __init__(self, history: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.recent: deque[tuple[int, Sample]] = deque(maxlen=history)
        self._subscribers: set[asyncio.Queue[tuple[int, Sample]]] = set()
        self._next_id, self._clock = 1, clock

    def publish(self, sample: Sample) -> None:
        numbered = (self._next_id, sample)
        self._next_id += 1
        self.recent.append(numbered)
        for queue in self._subscribers:
            if queue.full():  # a stalled browser misses its oldest samples, not new ones
                queue.get_nowait()
            queue.put_nowait(numbered)

    async def stream(
        self, after_id: int | None, lasting_s: float
    ) -> AsyncIterator[tuple[int, Sample]]:
        """The recent samples numbered above `after_id`, then each new one, for
        `lasting_s`: the browser reconnects at once, and a server stopping is never held
        up by an endless response."""
        queue: asyncio.Queue[tuple[int, Sample]] = asyncio.Queue(SUBSCRIBER_BACKLOG)
        self._subscribers.add(queue)
        if after_id is not None and after_id >= self._next_id:
            after_id = None  # numbered by a dashboard since restarted: it all is news
        try:
            for numbered in [n for n in self.recent if after_id is None or n[0] > after_id]:
                yield numbered
            ends_at = self._clock() + lasting_s
            while (left := ends_at - self._clock()) > 0:
                try:
                    yield await asyncio.wait_for(queue.get(), left)
                except TimeoutError:
                    return
        finally:
            self._subscribers.discard(queue)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)


async def keep_sampling(sampler: Sampler, hub: Hub, interval_s: float) -> None:
    """A sample every `interval_s`, on the clock's beat (a slow read does not drift it)."""
    next_at = sampler.clock()
    while True:
        raise_if_cancelled()  # Python 3.11 may have lost it: see flashsale.cancellation
        try:
            hub.publish(await sampler.sample())
        except Exception:
            raise_if_cancelled()
            log.exception("sampling failed")
        next_at += interval_s
        delay = next_at - sampler.clock()
        if delay < 0:  # the sample took longer than a beat: start a new beat from now
            next_at, delay = sampler.clock(), 0.0
        await asyncio.sleep(delay)


async def keep_checking(sampler: Sampler, interval_s: float, first_after_s: float) -> None:
    """The checks every `interval_s`; the first after the first sample named the sale."""
    await asyncio.sleep(first_after_s)
    while True:
        raise_if_cancelled()  # the checks' wait_for may have lost it on Python 3.11
        try:
            await sampler.check()
        except Exception:
            raise_if_cancelled()
            log.exception("the invariant checks failed")
        await asyncio.sleep(interval_s)
