"""The gateway's adapters as small interfaces, and what crosses them: the handlers and the
ASGI entry points see only these (real ones in gateway/adapters/, fakes in the tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "FORWARDED_REQUEST",
    "Count",
    "GaugeReading",
    "LagReader",
    "LagUnavailable",
    "Metrics",
    "Outcomes",
    "SharedBucket",
    "Upstream",
    "UpstreamDown",
    "UpstreamReply",
]

# Request headers the order service needs; everything else stays at the edge. The
# identity (X-Authenticated-User) is never among them: see Upstream.forward's `user`.
FORWARDED_REQUEST = ("content-type", "idempotency-key")


class UpstreamDown(Exception):
    """The order service refused, timed out or the pool had no free connection in time."""


@dataclass(frozen=True)
class UpstreamReply:
    status: int
    body: bytes
    headers: dict[str, str]


class Upstream(Protocol):
    """The order service over HTTP: one pool, opened and closed by the app's lifespan."""

    async def start(self) -> None: ...

    async def forward(
        self,
        method: str,
        path: str,
        body: bytes,
        headers: dict[str, str],
        user: str | None = None,
    ) -> UpstreamReply:
        """Send one request (`path` already quoted, with its query) and read the reply.

        `user`: the identity to vouch for, None for anonymous. Raises UpstreamDown when
        the order service cannot be reached or does not answer in time.
        """
        ...

    async def aclose(self) -> None: ...


class SharedBucket(Protocol):
    """A global bucket shared by every gateway replica."""

    async def take(self) -> float:
        """Seconds to wait; 0.0 when admitted, or when the bucket cannot be asked (fail
        open: each replica's local global bucket still bounds it)."""
        ...


class LagUnavailable(Exception):
    """The consumers' lag could not be read (Redis down, a value that is not a number)."""


class LagReader(Protocol):
    """The inventory consumers' lag, as the autoscaling supervisor last wrote it."""

    async def read(self) -> int | None:
        """The lag in messages; None when it is unknown (the key is missing or expired).
        Raises LagUnavailable when it cannot be asked."""
        ...

    async def aclose(self) -> None: ...


class Count(Protocol):
    """One counter child, bound to its labels once at start: `inc` is all a request pays."""

    def inc(self) -> None: ...


@dataclass(frozen=True)
class Outcomes:
    """What became of a /api/ request: one count per outcome."""

    forwarded: Count
    rate_limited: Count
    sold_out: Count
    too_large: Count
    upstream_error: Count
    no_proof: Count  # refused for want of a proof of work (proof_of_work.py)


@dataclass(frozen=True)
class GaugeReading:
    """The gauges, read when /metrics is scraped (never per request)."""

    bucket_tokens: float
    global_rate: float
    backpressure: bool


class Metrics(Protocol):
    """The gateway's metric families (flashsale/metric_catalog.py) and their exposition."""

    @property
    def outcomes(self) -> Outcomes: ...

    def read_gauges_with(self, read: Callable[[], GaugeReading]) -> None:
        """Where the gauges come from at scrape time."""
        ...

    def exposition(self) -> tuple[bytes, str]:
        """The /metrics body and its content type."""
        ...
