"""`flashsale repair`: rebuild a sale's Redis state from PostgreSQL after Redis lost data.

PostgreSQL is the record; Redis is a fast copy that admission writes first. After a loss
(a restart without AOF, or the last second of it) the copy claims stock that was sold and
forgets who bought. The repair makes the copy again, in four steps:

1. Fence: the sale's meta gets `fenced`, and reserve.lua answers 503 sale_under_repair,
   so no reservation changes what is being counted.
2. Settle: wait one Kafka delivery timeout, so every produce already under way has its
   report (acknowledged, or voided by the order service).
3. Drain: wait until the inventory consumers have committed past everything on the
   orders topic: an order in the lag is already sold, but not yet in PostgreSQL.
4. Rebuild, atomically (WATCH/MULTI): meta; buyers = the live orders, plus the pending
   reservations and voids Redis still holds whose order has no row; stock = the DB's
   remaining stock less those; every FAILED or CANCELLED order marked released (the DB
   already counts its stock back, so a release still owed by the relay is a no-op).
   The fence goes in the same transaction, and the sale reopens.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from redis import Redis, WatchError
from redis.client import Pipeline
from redis.typing import EncodableT, FieldT
from sqlalchemy import Connection, Engine, text

from flashsale.stock import SALES_SET, STOCK_CHANNEL, SaleKeys

__all__ = ["FENCE_FIELD", "RepairReport", "SaleRepair", "sales_to_repair"]

log = logging.getLogger(__name__)

FENCE_FIELD = "fenced"  # in sale:{S}:meta; reserve.lua answers "fenced" while it is set
CHUNK = 5000

_SALE = text("""
    SELECT sale_id, total_stock, remaining_stock, starts_at, ends_at, per_user_limit
    FROM sales WHERE sale_id = :sale_id""")
_ORDERS = text("""
    SELECT order_id, user_id, status FROM orders WHERE sale_id = :sale_id""")
_OPEN_SALES = text("SELECT sale_id FROM sales WHERE ends_at > now() ORDER BY sale_id")


@dataclass(frozen=True)
class RepairReport:
    sale_id: str
    stock: int  # what Redis holds now
    buyers: int  # live orders, plus reservations not yet in the DB
    in_flight: int  # pending reservations and voids kept (no DB row yet)
    released: int  # FAILED or CANCELLED orders marked as released


@dataclass(frozen=True)
class _Sale:
    sale_id: str
    total_stock: int
    remaining_stock: int
    starts_at: datetime
    ends_at: datetime
    per_user_limit: int

    def meta(self) -> dict[FieldT, EncodableT]:
        return {
            "starts_at_ms": int(self.starts_at.timestamp() * 1000),
            "ends_at_ms": int(self.ends_at.timestamp() * 1000),
            "per_user_limit": self.per_user_limit,
            "total_stock": self.total_stock,
        }


@dataclass(frozen=True)
class _Held:
    """A pending reservation or void Redis still holds: stock it took, a slot it owns."""

    order_id: str
    user_id: str
    quantity: int
    slot: str  # what the user's buyers entry must say


def sales_to_repair(engine: Engine) -> list[str]:
    """Every sale that has not ended yet."""
    with engine.connect() as conn:
        return [r.sale_id for r in conn.execute(_OPEN_SALES)]


class SaleRepair:
    def __init__(
        self,
        engine: Engine,
        redis: Redis,
        wait_for_drain: Callable[[], bool],
        settle_s: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._engine = engine
        self._redis = redis
        self._wait_for_drain = wait_for_drain
        self._settle_s = settle_s
        self._sleep = sleep

    def repair(self, sale_ids: Iterable[str]) -> list[RepairReport]:
        """Fence all, wait once, rebuild each. A sale stays fenced if the drain times out:
        reopening on a wrong count would oversell; rerun the repair instead."""
        sale_ids = list(sale_ids)
        for sale_id in sale_ids:
            self._fence(sale_id)
        self._sleep(self._settle_s)
        if not self._wait_for_drain():
            raise TimeoutError(
                "the inventory consumers did not catch up; the sales stay fenced: "
                "start them and run the repair again"
            )
        return [self._rebuild(sale_id) for sale_id in sale_ids]

    def _fence(self, sale_id: str) -> None:
        sale = self._sale_row(sale_id)
        keys = SaleKeys(sale_id)
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(keys.meta, mapping={**sale.meta(), FENCE_FIELD: 1})
        pipe.sadd(SALES_SET, sale_id)
        pipe.execute()
        log.info("sale %s fenced for repair", sale_id)

    def _rebuild(self, sale_id: str) -> RepairReport:
        keys = SaleKeys(sale_id)
        while True:
            try:
                return self._rebuild_once(keys)
            except WatchError:  # a reservation or void moved meanwhile: count again
                continue

    def _rebuild_once(self, keys: SaleKeys) -> RepairReport:
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.watch(keys.pending, keys.voids)  # type: ignore[no-untyped-call]
            # Redis first, then the DB: an order applied in between has a row by the time
            # the DB is read, so it is counted once, as a row.
            held = _held(pipe.hgetall(keys.pending), pipe.hgetall(keys.voids))
            with self._engine.connect() as conn:
                sale = self._sale_row(keys.sale_id, conn)
                orders = conn.execute(_ORDERS, {"sale_id": keys.sale_id}).all()
            in_db = {str(o.order_id) for o in orders}
            held = [h for h in held if h.order_id not in in_db]
            stock = max(0, sale.remaining_stock - sum(h.quantity for h in held))
            buyers = {o.user_id: str(o.order_id) for o in orders if o.status in _LIVE}
            buyers |= {h.user_id: h.slot for h in held}
            released = [str(o.order_id) for o in orders if o.status not in _LIVE]
            pipe.multi()
            _write(pipe, keys, sale, stock, buyers, released)
            pipe.execute()
        log.info("sale %s repaired: stock %d, %d buyers", keys.sale_id, stock, len(buyers))
        return RepairReport(keys.sale_id, stock, len(buyers), len(held), len(released))

    def _sale_row(self, sale_id: str, conn: Connection | None = None) -> _Sale:
        if conn is None:
            with self._engine.connect() as own:
                return self._sale_row(sale_id, own)
        row = conn.execute(_SALE, {"sale_id": sale_id}).first()
        if row is None:
            raise LookupError(f"no sale {sale_id!r} in the database")
        return _Sale(**row._mapping)


_LIVE = frozenset({"CREATED", "PAID"})


def _held(pending: Mapping[Any, Any], voids: Mapping[Any, Any]) -> list[_Held]:
    """The entries are "<orders topic>\n<event JSON>" (order_service/adapters/reservations.py). A
    voided order stays in pending until released, so a void entry overrides it: one
    order, counted once, its slot "void:<id>"."""
    held: dict[str, _Held] = {}
    for entries, void in ((pending, False), (voids, True)):
        for order_id, tagged in entries.items():
            oid = _text(order_id)
            event = orjson.loads(_text(tagged).split("\n", 1)[-1])
            slot = f"void:{oid}" if void else oid
            held[oid] = _Held(oid, event["user_id"], int(event["quantity"]), slot)
    return list(held.values())


def _write(
    pipe: Pipeline,
    keys: SaleKeys,
    sale: _Sale,
    stock: int,
    buyers: dict[str, str],
    released: list[str],
) -> None:
    pipe.hset(keys.meta, mapping=sale.meta())
    pipe.set(keys.stock, stock)
    pipe.delete(keys.buyers, keys.released)
    slots = list(buyers.items())
    for start in range(0, len(slots), CHUNK):
        pipe.hset(keys.buyers, mapping=dict(slots[start : start + CHUNK]))
    for start in range(0, len(released), CHUNK):
        pipe.sadd(keys.released, *released[start : start + CHUNK])
    pipe.hdel(keys.meta, FENCE_FIELD)
    pipe.sadd(SALES_SET, keys.sale_id)
    pipe.publish(STOCK_CHANNEL, f"{'release' if stock else 'soldout'} {keys.sale_id}")


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
