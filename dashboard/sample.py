"""What one sample is, from what the stores said: pure, so that every number the charts
plot is unit-tested. The handlers read the stores (through the ports) into `Readings`;
`RateMeter` turns its counters into rates; `chart_sample` is what a browser receives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dashboard.rates import SEPARATOR, Rates

__all__ = [
    "CheckSummary",
    "Offsets",
    "Readings",
    "SaleStock",
    "StockLevel",
    "chart_sample",
    "derive",
    "stock_level",
]

GATEWAY, ADMISSION, KAFKA, DB = "gateway", "admission", "kafka", "db"
# The chart series that are rates, in the order the page lists them.
RATE_SERIES = ("inbound", "admitted", "rate_limited", "sold_out", "produced", "consumed", "written")


@dataclass(frozen=True)
class Offsets:
    produced: int  # sum of the orders topic's high watermarks
    consumed: int  # sum of the inventory group's committed offsets
    lag: int  # messages not yet committed, summed over partitions


@dataclass(frozen=True)
class SaleStock:
    sale_id: str
    starts_at_ms: int
    ends_at_ms: int
    units: int


@dataclass(frozen=True)
class StockLevel:
    units_left: int  # over the active sales
    active_sales: int
    newest_sale: str | None  # the active sale that started last: the one being watched


def stock_level(now_ms: int, sales: Sequence[SaleStock], watched: str | None) -> StockLevel:
    """Over the active sales, the newest watched; or over the one sale `watched`."""
    active = [s for s in sales if s.starts_at_ms <= now_ms < s.ends_at_ms]
    if watched is not None:
        units = sum(max(0, s.units) for s in sales if s.sale_id == watched)
        return StockLevel(units, sum(s.sale_id == watched for s in active), watched)
    newest = max(active, key=lambda s: (s.starts_at_ms, s.sale_id), default=None)
    return StockLevel(
        units_left=sum(max(0, s.units) for s in active),
        active_sales=len(active),
        newest_sale=newest.sale_id if newest else None,
    )


@dataclass(frozen=True)
class CheckSummary:
    scope: str  # the sale checked, or "all sales"
    checks: tuple[tuple[str, bool], ...]  # (name, ok) in `flashsale check` order
    at: float  # epoch seconds

    @property
    def ok(self) -> bool:
        return all(ok for _, ok in self.checks)

    def as_dict(self) -> dict[str, Any]:
        checks = [{"name": name, "ok": ok} for name, ok in self.checks]
        return {"scope": self.scope, "ok": self.ok, "at": self.at, "checks": checks}


@dataclass(frozen=True)
class Readings:
    """What each store said this second; None: it could not be read."""

    gateway: Mapping[str, float] | None = None  # gateway requests by outcome
    admission: Mapping[str, float] | None = None  # order service admissions by outcome
    offsets: Offsets | None = None
    rows: int | None = None  # order rows in PostgreSQL
    stock: StockLevel | None = None
    workers: int | None = None
    backpressure: float | None = None  # the gateway's gauge: 1 while it holds the rate down

    @property
    def sources(self) -> tuple[str, ...]:
        """The counter sources read this time (one with no series yet included)."""
        parts = {GATEWAY: self.gateway, ADMISSION: self.admission, KAFKA: self.offsets}
        return tuple(name for name, part in {**parts, DB: self.rows}.items() if part is not None)

    def counters(self) -> dict[str, float]:
        """Every counter read, named "<source>:<series>" for the RateMeter."""
        values = {f"{GATEWAY}{SEPARATOR}{k}": v for k, v in (self.gateway or {}).items()}
        values |= {f"{ADMISSION}{SEPARATOR}{k}": v for k, v in (self.admission or {}).items()}
        if self.offsets is not None:
            values[f"{KAFKA}:produced"] = self.offsets.produced
            values[f"{KAFKA}:consumed"] = self.offsets.consumed
        if self.rows is not None:
            values[f"{DB}:written"] = self.rows
        return values


def derive(series: Mapping[str, float], gateway_counts: bool) -> dict[str, float | None]:
    """The chart's figures from per-series numbers (rates or totals). Inbound is what the
    gateway answered; while the gateway exports no counts it is what reached the order
    service. Sold out: the gateway's own fast answer plus the order service's."""

    def total(*names: str) -> float | None:
        known = [series[n] for n in names if n in series]
        return sum(known) if known else None

    def source(prefix: str) -> list[str]:
        return [n for n in series if n.startswith(prefix + SEPARATOR)]

    inbound = source(GATEWAY) if gateway_counts else source(ADMISSION)
    return {
        "inbound": total(*inbound),
        "admitted": total(f"{ADMISSION}:reserved"),
        "rate_limited": total(f"{GATEWAY}:rate_limited"),
        "sold_out": total(f"{GATEWAY}:sold_out", f"{ADMISSION}:sold_out"),
        "produced": total(f"{KAFKA}:produced"),
        "consumed": total(f"{KAFKA}:consumed"),
        "written": total(f"{DB}:written"),
    }


def chart_sample(
    at: float, readings: Readings, rates: Rates, peak_lag: int, checks: CheckSummary | None
) -> dict[str, Any]:
    """One point of every chart, plus the headline figures, as the page reads them."""
    gateway_counts = bool(readings.gateway)
    stock = readings.stock
    return {
        "t": round(at, 3),
        "rates": _rounded(derive(rates.per_second, gateway_counts)),
        "totals": _rounded(derive(rates.since_start, gateway_counts)),
        "lag": readings.offsets.lag if readings.offsets else None,
        "peak_lag": peak_lag,
        "stock": stock.units_left if stock else None,
        "active_sales": stock.active_sales if stock else None,
        "sale": stock.newest_sale if stock else None,
        # No key (no autoscaling supervisor, or it died): the one unscaled consumer.
        "workers": readings.workers if readings.workers is not None else 1,
        "checks": checks.as_dict() if checks else None,
        "backpressure": None if readings.backpressure is None else readings.backpressure > 0,
    }


def _rounded(figures: Mapping[str, float | None]) -> dict[str, float | None]:
    return {k: None if v is None else round(v, 2) for k, v in figures.items()}
