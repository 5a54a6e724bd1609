"""The stores the dashboard reads, as small interfaces: real ones in dashboard/adapters/,
fakes in the tests. Each read raises when its store cannot be read; the sampler turns
that into a gap in the chart, never into a missing sample."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from dashboard.sample import CheckSummary, Offsets, StockLevel

__all__ = [
    "CounterScrape",
    "GaugeScrape",
    "InvariantChecks",
    "OrderRows",
    "StockLevels",
    "TopicOffsets",
    "Workers",
]


class CounterScrape(Protocol):
    """One labelled counter family of a service's /metrics."""

    async def read(self) -> Mapping[str, float]:
        """The family's value by its label's value ({} when the family is missing)."""
        ...


class GaugeScrape(Protocol):
    """One unlabelled gauge of a service's /metrics."""

    async def read(self) -> float | None:
        """The gauge's value, None when the family is missing."""
        ...


class TopicOffsets(Protocol):
    """The orders topic's high watermarks and the inventory group's committed offsets."""

    async def read(self) -> Offsets: ...


class OrderRows(Protocol):
    """Order rows written to PostgreSQL so far: the DB-write counter."""

    async def count(self) -> int: ...


class StockLevels(Protocol):
    """Units left in Redis over the active sales."""

    async def read(self) -> StockLevel: ...


class Workers(Protocol):
    """The inventory consumer's worker count, as its autoscaling supervisor published it."""

    async def count(self) -> int | None:
        """None when unknown (no supervisor publishes it)."""
        ...


class InvariantChecks(Protocol):
    """`flashsale check`: slow (seconds on a big database), so run every few seconds."""

    async def run(self, sale_id: str | None) -> CheckSummary:
        """Check one sale, or every sale when None."""
        ...
