"""The invariant checker: the promises of the system, read back from where they are kept.

Each check has a name and returns the rows that break it, so an empty result is a pass
and a failure names the sale or order at fault:
- PostgreSQL (here): stock balances, one live order per user, the per-user limit, and
  no outbox row left unsent;
- Redis against PostgreSQL (check_redis.py): stock, buyers, stale pending reservations;
- the DLQ (check_dlq.py): no dead-lettered OrderPlaced whose order has no row.

The Redis checks compare two stores that agree only once the pipeline has drained (an
order in the Kafka lag is sold in Redis and not yet in PostgreSQL): run them after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

__all__ = [
    "DB_CHECKS",
    "CheckResult",
    "Report",
    "check_database",
    "check_invariants",
    "check_outbox",
]

DB_CHECKS: dict[str, str] = {
    # No oversell: the stock handed out equals the stock held by live orders, and the
    # remaining stock is never negative (the CHECK constraint also refuses that).
    "stock_balances": """
        SELECT s.sale_id, s.total_stock, s.remaining_stock, COALESCE(SUM(o.quantity), 0) AS held
        FROM sales s
        LEFT JOIN orders o ON o.sale_id = s.sale_id AND o.status IN ('CREATED', 'PAID')
        WHERE CAST(:sale_id AS text) IS NULL OR s.sale_id = :sale_id
        GROUP BY s.sale_id
        HAVING s.total_stock - s.remaining_stock <> COALESCE(SUM(o.quantity), 0)
            OR s.remaining_stock < 0
    """,
    # At most one live order per user per sale (the partial unique index also refuses it).
    "one_live_order_per_user": """
        SELECT sale_id, user_id, COUNT(*) AS live
        FROM orders WHERE status IN ('CREATED', 'PAID')
          AND (CAST(:sale_id AS text) IS NULL OR sale_id = :sale_id)
        GROUP BY sale_id, user_id HAVING COUNT(*) > 1
    """,
    # Every order is within its sale's per-user limit.
    "per_user_limit": """
        SELECT o.sale_id, o.order_id, o.quantity, s.per_user_limit
        FROM orders o JOIN sales s USING (sale_id)
        WHERE o.quantity > s.per_user_limit
          AND (CAST(:sale_id AS text) IS NULL OR o.sale_id = :sale_id)
    """,
}

# An event written but never relayed: a consumer downstream, or Redis, never heard of it.
_STALE_OUTBOX = text("""
    SELECT id, topic, event_type, key, created_at FROM outbox
    WHERE sent_at IS NULL AND created_at < now() - make_interval(secs => :age_s)
      AND (CAST(:sale_id AS text) IS NULL OR payload->>'sale_id' = :sale_id)
    ORDER BY id LIMIT 100""")


@dataclass
class CheckResult:
    name: str
    violations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


@dataclass
class Report:
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": [
                {"name": c.name, "ok": c.ok, "violations": c.violations[:100]} for c in self.checks
            ],
        }


def check_database(engine: Engine, sale_id: str | None = None) -> list[CheckResult]:
    with engine.connect() as conn:
        return [
            CheckResult(
                name, [dict(r._mapping) for r in conn.execute(text(sql), {"sale_id": sale_id})]
            )
            for name, sql in DB_CHECKS.items()
        ]


def check_outbox(engine: Engine, max_age_s: float, sale_id: str | None = None) -> CheckResult:
    with engine.connect() as conn:
        rows = conn.execute(_STALE_OUTBOX, {"age_s": max_age_s, "sale_id": sale_id})
        return CheckResult("outbox_relayed", [dict(r._mapping) for r in rows])


def check_invariants(engine: Engine, sale_id: str | None = None) -> list[CheckResult]:
    """The database checks that failed (empty: every one holds)."""
    return [c for c in check_database(engine, sale_id) if not c.ok]
