"""Redis against PostgreSQL: does the fast copy still say what the record says?

For each sale, once the pipeline has drained:
- redis_stock_matches_db: Redis stock, plus the units Redis holds for orders that have no
  row yet (pending reservations, voids) and the units the relay still owes back
  (FAILED or CANCELLED orders not yet released), equals the DB's remaining stock;
- redis_buyers_match_live_orders: each user's slot names their live order (or a
  reservation or void not yet in the DB), and no slot names anything else;
- no_stale_pending: no reservation has waited for its Kafka ack longer than the
  recovery window (the recovery loop re-publishes those; one still there is stuck), and
  no pending entry is orphaned: out of both the re-publish scan (pending_at) and the
  voids, nothing would ever clear it, and its sale could never be pruned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from redis import Redis
from sqlalchemy import Engine, text

from flashsale.check import CheckResult
from flashsale.stock import SALES_SET, SaleKeys

__all__ = ["check_redis"]

_SALES = text("""
    SELECT sale_id, remaining_stock FROM sales
    WHERE (CAST(:sale_id AS text) IS NULL AND (ends_at > now() OR sale_id = ANY(:known)))
       OR sale_id = :sale_id""")
_ORDERS = text("SELECT order_id, user_id, quantity, status FROM orders WHERE sale_id = :sale_id")


@dataclass(frozen=True)
class _RedisSale:
    meta: bool
    stock: int
    buyers: dict[str, str]
    held: dict[str, tuple[str, int, str]]  # order id -> (user, quantity, expected slot)
    released: set[str]
    stale: list[str]  # pending past the recovery window, or orphaned


def check_redis(
    engine: Engine, redis: Redis, now_ms: int, pending_age_s: float, sale_id: str | None = None
) -> list[CheckResult]:
    known = sorted(str(s) for s in redis.smembers(SALES_SET))
    stock, buyers, stale = (CheckResult(n) for n in _NAMES)
    with engine.connect() as conn:
        sales = conn.execute(_SALES, {"sale_id": sale_id, "known": known}).all()
        for sale in sales:
            seen = _read(redis, SaleKeys(sale.sale_id), now_ms - int(pending_age_s * 1000))
            orders = conn.execute(_ORDERS, {"sale_id": sale.sale_id}).all()
            stock.violations += _stock_drift(sale.sale_id, sale.remaining_stock, seen, orders)
            buyers.violations += _slot_drift(sale.sale_id, seen, orders)
            stale.violations += [{"sale_id": sale.sale_id, "order_id": o} for o in seen.stale]
    return [stock, buyers, stale]


_NAMES = ("redis_stock_matches_db", "redis_buyers_match_live_orders", "no_stale_pending")


def _read(redis: Redis, keys: SaleKeys, stale_before_ms: int) -> _RedisSale:
    pipe = redis.pipeline(transaction=False)
    pipe.exists(keys.meta)
    pipe.get(keys.stock)
    pipe.hgetall(keys.buyers)
    pipe.hgetall(keys.pending)
    pipe.hgetall(keys.voids)
    pipe.smembers(keys.released)
    pipe.zrangebyscore(keys.pending_at, "-inf", stale_before_ms)
    pipe.zrange(keys.pending_at, 0, -1)
    meta, stock, buyers, pending, voids, released, stale, scanned = pipe.execute()
    held = {**_held(pending, void=False), **_held(voids, void=True)}
    orphans = sorted(pending.keys() - set(scanned) - voids.keys())
    return _RedisSale(bool(meta), int(stock or 0), buyers, held, set(released), stale + orphans)


def _held(entries: Mapping[str, str], void: bool) -> dict[str, tuple[str, int, str]]:
    held: dict[str, tuple[str, int, str]] = {}
    for order_id, tagged in entries.items():
        event = orjson.loads(tagged.split("\n", 1)[-1])
        slot = f"void:{order_id}" if void else order_id
        held[order_id] = (event["user_id"], int(event["quantity"]), slot)
    return held


def _stock_drift(
    sale_id: str, remaining: int, seen: _RedisSale, orders: Sequence[Any]
) -> list[dict[str, Any]]:
    if not seen.meta:
        return [{"sale_id": sale_id, "problem": "missing in Redis", "db_remaining": remaining}]
    in_db = {str(o.order_id) for o in orders}
    held = sum(q for oid, (_, q, _) in seen.held.items() if oid not in in_db)
    owed = sum(o.quantity for o in orders if _owed(o, seen.released))
    if seen.stock + held + owed == remaining:
        return []
    return [
        {
            "sale_id": sale_id,
            "redis_stock": seen.stock,
            "held_not_in_db": held,
            "owed_back": owed,
            "db_remaining": remaining,
        }
    ]


def _slot_drift(sale_id: str, seen: _RedisSale, orders: Sequence[Any]) -> list[dict[str, Any]]:
    in_db = {str(o.order_id) for o in orders}
    expected = {o.user_id: str(o.order_id) for o in orders if o.status in ("CREATED", "PAID")}
    expected |= {u: slot for oid, (u, _, slot) in seen.held.items() if oid not in in_db}
    # A slot whose order failed and whose release the relay still owes is on its way out.
    leaving = {o.user_id for o in orders if _owed(o, seen.released)}
    users = (expected.keys() | seen.buyers.keys()) - leaving
    return [
        {"sale_id": sale_id, "user_id": u, "redis": seen.buyers.get(u), "db": expected.get(u)}
        for u in sorted(users)
        if seen.buyers.get(u) != expected.get(u)
    ]


def _owed(order: Any, released: set[str]) -> bool:
    return order.status in ("FAILED", "CANCELLED") and str(order.order_id) not in released
