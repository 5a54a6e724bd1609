"""Forget every sale this test run made, in PostgreSQL and Redis, when the run ends.

Test sales carry the run's prefix (tests/random_refs.py), so the cleanup finds them
whether their test passed, failed or was interrupted, and the shared dev database stays
one that `flashsale check` passes on. `pytest --keep-test-data` keeps them to look at.
"""

from __future__ import annotations

from redis import Redis
from sqlalchemy import Engine, text

from flashsale.stock import SALES_SET

__all__ = ["forget_sales"]

# Children first: notifications and outbox rows point at orders, orders at sales.
DELETES = (
    "DELETE FROM notifications WHERE order_id IN"
    " (SELECT order_id FROM orders WHERE sale_id LIKE :pattern)",
    "DELETE FROM outbox WHERE payload->>'sale_id' LIKE :pattern",
    "DELETE FROM orders WHERE sale_id LIKE :pattern",
    "DELETE FROM sales WHERE sale_id LIKE :pattern",
)


def forget_sales(engine: Engine, redis_url: str, prefix: str) -> None:
    pattern = prefix.replace("_", r"\_") + "%"
    with engine.begin() as conn:
        for statement in DELETES:
            conn.execute(text(statement), {"pattern": pattern})
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        # Every key of a sale sits under its hash tag: sale:{<sale id>}:...
        keys = list(redis.scan_iter(match=f"sale:{{{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            redis.delete(*keys[start : start + 500])
        sales = [s for s in redis.smembers(SALES_SET) if s.startswith(prefix)]
        if sales:
            redis.srem(SALES_SET, *sales)
    finally:
        redis.close()
