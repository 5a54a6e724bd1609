"""What the demo saw, as plain records, and the invariants it holds them to. No I/O."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from flashsale.demo.burst import ADMITTED, Answer
from flashsale.demo.orders import SaleOrders

__all__ = [
    "AnswerCounts",
    "BurstResult",
    "DemoOutcome",
    "DemoPlan",
    "DrainResult",
    "percentile_ms",
]

# The answers every stampede gets; any other one (a 503, no answer at all) is an error.
EXPECTED = (ADMITTED, "rate_limited", "sold_out", "already_purchased")


@dataclass(frozen=True)
class DemoPlan:
    stock: int = 1000
    attempts: int = 20_000
    users: int = 10_000
    concurrency: int = 100
    drain_timeout_s: float = 60.0
    sale_prefix: str = "demo"  # the sale is <prefix>-<time>-<random>


@dataclass(frozen=True)
class BurstResult:
    answers: list[Answer]
    seconds: float


@dataclass(frozen=True)
class DrainResult:
    tokens_without_order: int  # 202 tokens with no row in PostgreSQL when the wait ended
    drain_seconds: float  # from the end of the burst until every token had its row
    peak_lag: int
    lag_samples: int


def percentile_ms(latencies_s: list[float], pct: float) -> float:
    """Nearest-rank percentile, in ms (0 for no values)."""
    ordered = sorted(latencies_s)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct))] * 1000


@dataclass(frozen=True)
class AnswerCounts:
    """What the clients were answered, counted on the client."""

    offered: int
    admitted: int
    rate_limited: int
    sold_out: int
    already_purchased: int
    errors: int  # any other answer, or none at all (detailed in other_answers)
    other_answers: dict[str, int]
    burst_seconds: float
    p50_ms: float  # the order tokens' (202) latency
    p99_ms: float

    @classmethod
    def of(cls, burst: BurstResult) -> AnswerCounts:
        counts = Counter(a.outcome for a in burst.answers)
        others = {outcome: n for outcome, n in counts.most_common() if outcome not in EXPECTED}
        tokens = [a.latency_s for a in burst.answers if a.outcome == ADMITTED]
        return cls(
            offered=len(burst.answers),
            admitted=counts[ADMITTED],
            rate_limited=counts["rate_limited"],
            sold_out=counts["sold_out"],
            already_purchased=counts["already_purchased"],
            errors=sum(others.values()),
            other_answers=others,
            burst_seconds=round(burst.seconds, 3),
            p50_ms=round(percentile_ms(tokens, 0.5), 2),
            p99_ms=round(percentile_ms(tokens, 0.99), 2),
        )


@dataclass(frozen=True)
class DemoOutcome:
    """One demo sale: the plan, the client's counts, and the record read back."""

    sale_id: str
    plan: DemoPlan
    answers: AnswerCounts
    orders: SaleOrders  # from PostgreSQL
    drain: DrainResult  # from PostgreSQL and Kafka
    failed_checks: list[str]  # `flashsale check --sale`: the checks that failed
    emails: int | None = None  # confirmation emails in the local Maildir so far

    @property
    def violations(self) -> list[str]:
        """The invariants that failed, by name: empty when the sale went right."""
        broken = {
            "oversell": self.orders.oversell > 0,
            "duplicate_orders": self.orders.duplicate_orders > 0,
            "tokens_without_order": self.drain.tokens_without_order > 0,
            "orders_without_token": self.orders.orders_created > self.answers.admitted,
            "admitted_over_stock": self.answers.admitted > self.orders.stock,
            "flashsale_check": bool(self.failed_checks),
        }
        return [name for name, failed in broken.items() if failed]

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        """One flat object for scripts (`flashsale demo --json`)."""
        return {
            "sale_id": self.sale_id,
            **asdict(self.plan),
            **asdict(self.answers),
            **asdict(self.orders),
            **asdict(self.drain),
            "check_passed": not self.failed_checks,
            "failed_checks": self.failed_checks,
            "emails": self.emails,
            "ok": self.ok,
            "violations": self.violations,
        }
