"""The SQL side of a batch: one PostgreSQL transaction per plan. Idempotent by keys only
(order_id primary key, the partial unique index on live orders), never read-then-write.

Round trips per batch, whatever its size: the pool's ping, BEGIN, the one statement that
inserts the orders and their outbox rows, the stock's UPDATE, COMMIT (one or two more
when the batch holds duplicates or voids). A statement takes all its rows as ONE jsonb
parameter: psycopg dumps a Python list as a text array, quoting every element in
Python, which cost more than the database's own work on the rows.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, Row, text

from flashsale.contracts import (
    OrderCreated,
    OrderFailed,
    OrderPlaced,
    OrderReinstated,
    OrderVoided,
)
from flashsale.outbox import OutboxEvent, add_to_outbox
from inventory_consumer.plan import BatchOutcome, BatchPlan

__all__ = ["CREATED_EVENT_JSON", "OVERSOLD_REASON", "SqlOrderStore", "move_stock"]

# A FAILED order PostgreSQL had no stock for: Redis counted units that were not there.
OVERSOLD_REASON = "out of stock in the database: Redis had drifted"

# The fields of a statement's rows: `:rows` is a jsonb array of objects (see _rows_json).
_FIELDS = ("order_id", "sale_id", "user_id", "quantity", "detail")

# The OrderCreated an inserted order owes, as SQL expressions over `c` (its created row
# and a fresh event id): one per field of the contract, so the payload is the event's
# own JSON (checked at import, and decoded by decode_event in the integration tests).
_CREATED_EVENT = {
    "event_id": "c.event_id",
    "occurred_at": "now()",
    "type": "'OrderCreated'",
    "version": "1",
    "order_id": "c.order_id",
    "sale_id": "c.sale_id",
    "user_id": "c.user_id",
    "quantity": "c.quantity",
    "expires_at": "c.expires_at",
}


def _json_object(exprs: dict[str, str], model: type[BaseModel]) -> str:
    """jsonb_build_object(...) for `model`, one key per field, refusing any mismatch."""
    if set(exprs) != set(model.model_fields):
        raise TypeError(f"{model.__name__} has fields {sorted(model.model_fields)}")
    return "jsonb_build_object(" + ", ".join(f"'{k}', {v}" for k, v in exprs.items()) + ")"


# The payload, over a row `c` of the created orders with its event_id (the bench's
# SQL-only ceiling builds the very same one: loadtests/bench_raw.py).
CREATED_EVENT_JSON = _json_object(_CREATED_EVENT, OrderCreated)


# One statement inserts the orders (ON CONFLICT without a target: the order_id key AND
# the one-live-order-per-user index) and writes an OrderCreated outbox row for each order
# actually inserted. Python never holds the events: building and encoding 500 pydantic
# models per batch cost more CPU than the database spent on their rows. The stock is
# taken by a later statement (move_stock), last in the transaction.
_CREATE = text(f"""
    WITH created AS (
        INSERT INTO orders (order_id, sale_id, user_id, quantity, status, placed_at,
                            expires_at)
        SELECT order_id, sale_id, user_id, quantity, 'CREATED', CAST(detail AS timestamptz),
               now() + make_interval(secs => :ttl_s)
        FROM jsonb_to_recordset(CAST(:rows AS jsonb))
             AS o(order_id uuid, sale_id text, user_id text, quantity int, detail text)
        ON CONFLICT DO NOTHING
        RETURNING order_id, sale_id, user_id, quantity, expires_at
    ), events AS (
        INSERT INTO outbox (event_id, topic, key, event_type, payload)
        SELECT c.event_id, :topic, CAST(c.order_id AS text), 'OrderCreated',
               {CREATED_EVENT_JSON}
        FROM (SELECT *, flashsale_uuid7() AS event_id FROM created) AS c
    )
    SELECT order_id, sale_id, quantity FROM created""")  # noqa: S608 (constants only)

# A FAILED row for an order id that has none: a later OrderPlaced for it creates nothing.
# Joined to sales: a tombstone for an unknown sale would break the foreign key.
_TOMBSTONE = text("""
    INSERT INTO orders (order_id, sale_id, user_id, quantity, status, reason)
    SELECT o.order_id, o.sale_id, o.user_id, o.quantity, 'FAILED', o.detail
    FROM jsonb_to_recordset(CAST(:rows AS jsonb))
         AS o(order_id uuid, sale_id text, user_id text, quantity int, detail text)
         JOIN sales s ON s.sale_id = o.sale_id
    ON CONFLICT DO NOTHING
    RETURNING order_id, sale_id, user_id, quantity, reason""")

# The orders a void lost to: their placement landed, so they stand (see plan.py).
_STANDING = text("""
    SELECT order_id, sale_id, user_id FROM orders
    WHERE order_id = ANY(CAST(:ids AS uuid[])) AND status IN ('CREATED', 'PAID')""")

_EXISTING = text("SELECT order_id FROM orders WHERE order_id = ANY(CAST(:ids AS uuid[]))")

# Sales in id order: two consumers touching the same sales lock them in the same order.
# The CHECK (remaining_stock >= 0) refuses an oversell: the batch then rolls back.
_MOVE_STOCK = text("""
    UPDATE sales SET remaining_stock = remaining_stock + d.delta
    FROM (SELECT * FROM unnest(CAST(:sale_ids AS text[]), CAST(:deltas AS int[])) ORDER BY 1)
         AS d(sale_id, delta)
    WHERE sales.sale_id = d.sale_id""")


def _rows_json(rows: Sequence[tuple[uuid.UUID, str, str, int, str]]) -> dict[str, str]:
    """The `:rows` parameter: orjson writes it in C, ids and all."""
    return {"rows": orjson.dumps([dict(zip(_FIELDS, r, strict=True)) for r in rows]).decode()}


def move_stock(conn: Connection, deltas: Counter[str]) -> None:
    """Add each delta to its sale's remaining stock (negative: taken; positive: released)."""
    moves = sorted((s, d) for s, d in deltas.items() if d)
    if moves:
        conn.execute(
            _MOVE_STOCK, {"sale_ids": [s for s, _ in moves], "deltas": [d for _, d in moves]}
        )


def _failed_event(row: Row[Any]) -> OrderFailed:
    return OrderFailed(
        order_id=row.order_id,
        sale_id=row.sale_id,
        user_id=row.user_id,
        quantity=row.quantity,
        reason=row.reason,
    )


class SqlOrderStore:
    """The `BatchStore` port on PostgreSQL."""

    def __init__(self, engine: Engine, events_topic: str, order_ttl_s: float) -> None:
        self._engine = engine
        self._topic = events_topic
        self._ttl_s = order_ttl_s

    def apply(self, plan: BatchPlan) -> BatchOutcome:
        with self._engine.begin() as conn:
            return self.apply_in(conn, plan)

    def apply_in(self, conn: Connection, plan: BatchPlan) -> BatchOutcome:
        """Apply a plan inside the caller's transaction (apply() commits its own)."""
        stock: Counter[str] = Counter()
        events: list[OutboxEvent] = []
        created = self._create(conn, plan.to_create, stock)
        rejected = self._reject_unplaced(conn, plan.to_create, created, events)
        tombs, reinstated = self._void(conn, plan.to_void, events)
        add_to_outbox(conn, self._topic, events)
        # Last: a flash sale is one hot row, and its lock is held until the commit.
        move_stock(conn, stock)
        dupes = len(plan.to_create) - len(created) - rejected
        return BatchOutcome(len(created), dupes, rejected, reinstated, tombs)

    def _void(
        self,
        conn: Connection,
        voids: Sequence[OrderVoided],
        events: list[OutboxEvent],
    ) -> tuple[int, int]:
        """Tombstone first, then look: a concurrent apply of the same placement holds its
        uncommitted row, so the INSERT waits for it and then conflicts. A void can never
        miss its placement, and never kills an order that landed."""
        if not voids:
            return 0, 0
        rows = [
            (v.order_id, v.sale_id, v.user_id, v.quantity, f"voided: {v.reason}") for v in voids
        ]
        tombs = conn.execute(_TOMBSTONE, _rows_json(rows)).all()
        events += [_failed_event(r) for r in tombs]  # the relay returns the Redis stock
        dead = {r.order_id for r in tombs}
        ids = [v.order_id for v in voids if v.order_id not in dead]
        standing = conn.execute(_STANDING, {"ids": ids}).all() if ids else []
        events += [
            OrderReinstated(order_id=r.order_id, sale_id=r.sale_id, user_id=r.user_id)
            for r in standing
        ]
        return len(tombs), len(standing)

    def _create(
        self, conn: Connection, placed: Sequence[OrderPlaced], stock: Counter[str]
    ) -> set[uuid.UUID]:
        """The orders inserted, their outbox rows written; their units owed to `stock`."""
        if not placed:
            return set()
        rows = [
            (p.order_id, p.sale_id, p.user_id, p.quantity, p.placed_at.isoformat()) for p in placed
        ]
        params = {**_rows_json(rows), "ttl_s": self._ttl_s, "topic": self._topic}
        created = set()
        for order_id, sale_id, quantity in conn.execute(_CREATE, params):
            stock[sale_id] -= quantity  # only rows actually inserted take stock
            created.add(order_id)
        return created

    def _reject_unplaced(
        self,
        conn: Connection,
        placed: Sequence[OrderPlaced],
        created: set[uuid.UUID],
        events: list[OutboxEvent],
    ) -> int:
        """An OrderPlaced neither inserted nor already present lost to the live-order index:
        the user holds another live order. Fail it, so its token still ends somewhere."""
        missing = [p for p in placed if p.order_id not in created]
        if not missing:
            return 0
        present = {r[0] for r in conn.execute(_EXISTING, {"ids": [p.order_id for p in missing]})}
        losers = [
            (p.order_id, p.sale_id, p.user_id, p.quantity, "user already holds a live order")
            for p in missing
            if p.order_id not in present
        ]
        tombs = conn.execute(_TOMBSTONE, _rows_json(losers)).all() if losers else []
        events += [_failed_event(r) for r in tombs]
        return len(tombs)

    def refuse_oversold(self, placed: OrderPlaced) -> None:
        self.fail_placed(placed, OVERSOLD_REASON)

    def fail_placed(self, placed: OrderPlaced, reason: str) -> None:
        row = (placed.order_id, placed.sale_id, placed.user_id, placed.quantity, reason[:500])
        with self._engine.begin() as conn:
            tombs = conn.execute(_TOMBSTONE, _rows_json([row])).all()
            add_to_outbox(conn, self._topic, [_failed_event(r) for r in tombs])
