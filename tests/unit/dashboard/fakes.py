"""In-memory stand-ins for the dashboard's ports: each returns what the test set, or
raises when told to (a store that cannot be read)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from dashboard.handlers import Sources
from dashboard.sample import CheckSummary, Offsets, StockLevel


class Down(Exception):
    """The fake store is unreachable."""


@dataclass
class FakeCounters:
    values: dict[str, float] = field(default_factory=dict)
    down: bool = False

    async def read(self) -> Mapping[str, float]:
        if self.down:
            raise Down
        return dict(self.values)


@dataclass
class FakeOffsets:
    offsets: Offsets = field(default_factory=lambda: Offsets(0, 0, 0))
    hang: bool = False

    async def read(self) -> Offsets:
        if self.hang:
            await asyncio.sleep(3600)
        return self.offsets


@dataclass
class FakeRows:
    rows: int = 0

    async def count(self) -> int:
        return self.rows


@dataclass
class FakeStock:
    level: StockLevel = field(default_factory=lambda: StockLevel(0, 0, None))

    async def read(self) -> StockLevel:
        return self.level


@dataclass
class FakeWorkers:
    workers: int | None = None

    async def count(self) -> int | None:
        return self.workers


@dataclass
class FakeGauge:
    value: float | None = None
    on_read: Callable[[], object] | None = None  # called as a read ends

    async def read(self) -> float | None:
        if self.on_read is not None:
            self.on_read()
        return self.value


@dataclass
class FakeChecks:
    failing: tuple[str, ...] = ()
    asked: list[str | None] = field(default_factory=list)

    async def run(self, sale_id: str | None) -> CheckSummary:
        self.asked.append(sale_id)
        names = ("stock_balances", "per_user_limit")
        checks = tuple((name, name not in self.failing) for name in names)
        return CheckSummary(sale_id or "all sales", checks, at=1.0)


@dataclass
class FakeSources:
    gateway: FakeCounters = field(default_factory=FakeCounters)
    admission: FakeCounters = field(default_factory=FakeCounters)
    offsets: FakeOffsets = field(default_factory=FakeOffsets)
    rows: FakeRows = field(default_factory=FakeRows)
    stock: FakeStock = field(default_factory=FakeStock)
    workers: FakeWorkers = field(default_factory=FakeWorkers)
    checks: FakeChecks = field(default_factory=FakeChecks)
    backpressure: FakeGauge = field(default_factory=FakeGauge)

    def wired(self) -> Sources:
        return Sources(
            self.gateway, self.admission, self.offsets, self.rows, self.stock, self.workers,
            self.checks, self.backpressure,
        )  # fmt: skip
