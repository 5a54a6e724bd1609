"""The invariant checker: the promises of the system, read back from the database.

Each check is one SQL query returning the rows that break it, so an empty result is a
pass and a failure names the sale or order at fault.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, text

__all__ = ["CHECKS", "Violation", "check_invariants"]

CHECKS: dict[str, str] = {
    # No oversell: the stock handed out equals the stock held by live orders, and the
    # remaining stock is never negative (the CHECK constraint also refuses that).
    "stock_balances": """
        SELECT s.sale_id, s.total_stock, s.remaining_stock, COALESCE(SUM(o.quantity), 0) AS held
        FROM sales s
        LEFT JOIN orders o ON o.sale_id = s.sale_id AND o.status IN ('CREATED', 'PAID')
        GROUP BY s.sale_id
        HAVING s.total_stock - s.remaining_stock <> COALESCE(SUM(o.quantity), 0)
            OR s.remaining_stock < 0
    """,
    # At most one live order per user per sale (the partial unique index also refuses it).
    "one_live_order_per_user": """
        SELECT sale_id, user_id, COUNT(*) AS live
        FROM orders WHERE status IN ('CREATED', 'PAID')
        GROUP BY sale_id, user_id HAVING COUNT(*) > 1
    """,
    # Every order is within its sale's per-user limit.
    "per_user_limit": """
        SELECT o.sale_id, o.order_id, o.quantity, s.per_user_limit
        FROM orders o JOIN sales s USING (sale_id)
        WHERE o.quantity > s.per_user_limit
    """,
}


@dataclass
class Violation:
    check: str
    rows: list[dict[str, object]] = field(default_factory=list)


def check_invariants(engine: Engine, sale_id: str | None = None) -> list[Violation]:
    violations: list[Violation] = []
    with engine.connect() as conn:
        for name, sql in CHECKS.items():
            rows = [dict(r._mapping) for r in conn.execute(text(sql))]
            if sale_id is not None:
                rows = [r for r in rows if r.get("sale_id", sale_id) == sale_id]
            if rows:
                violations.append(Violation(name, rows))
    return violations
