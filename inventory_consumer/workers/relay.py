"""The outbox relay: publishes outbox rows to their topic with the idempotent producer and
marks them sent. Runs as a thread of the consumer process; any number of processes may
run it.

Several relays: each round takes a transaction-scoped advisory lock on the topic, so one
relay publishes at a time, in id order, which keeps every order's events in order (they
share the key, hence the partition). The rows are also locked FOR UPDATE SKIP LOCKED, so
even two relays that raced past the lock could never pick the same row. A crash between
the produce and the commit re-publishes those rows: consumers dedup by (order, kind).

Redis follows the outbox: an OrderCancelled/OrderFailed row is the durable record that an
order's stock must go back to Redis, an OrderReinstated row that a voided slot must name
its order again. The relay applies it to Redis (release.lua / reinstate.lua, idempotent
per order id) before publishing the row, so no crash between a DB commit and Redis
loses it. When that fails (Redis down), the row and every later row of the same order
wait for the next round; the other orders' rows go on: one order's trouble never stalls
the topic, and each order's events stay in order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

import orjson
from confluent_kafka import KafkaError, Message, Producer
from sqlalchemy import Engine, Row, text

from inventory_consumer.ports import StockReleases

__all__ = ["OutboxRelay"]

log = logging.getLogger(__name__)
RETURNS_STOCK = frozenset({"OrderCancelled", "OrderFailed"})
REINSTATES = "OrderReinstated"

_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtext('flashsale.relay:' || :topic))")
# The payload as text only: it is what gets published, and the few rows that also move
# Redis stock parse it themselves. Selecting the jsonb too had psycopg decode every row
# into a dict (stdlib json, about 10 µs a row) that an OrderCreated never looks at.
_PENDING = text("""
    SELECT id, key, event_type, CAST(payload AS text) AS body FROM outbox
    WHERE sent_at IS NULL AND topic = :topic
    ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED""")
_MARK_SENT = text("UPDATE outbox SET sent_at = now() WHERE id = ANY(CAST(:ids AS bigint[]))")


class OutboxRelay:
    def __init__(
        self,
        engine: Engine,
        producer: Producer,
        topic: str,
        releaser: StockReleases,
        batch: int = 500,
        flush_timeout_s: float = 10.0,
    ) -> None:
        self._engine = engine
        self._producer = producer
        self._topic = topic
        self._releaser = releaser
        self._batch = batch
        self._flush_timeout_s = flush_timeout_s

    def relay_once(self) -> int:
        """Publish one round of unsent rows; return how many were marked sent."""
        with self._engine.begin() as conn:
            if not conn.execute(_LOCK, {"topic": self._topic}).scalar():
                return 0  # another relay is publishing this topic right now
            rows = conn.execute(_PENDING, {"topic": self._topic, "limit": self._batch}).all()
            sent = self._publish(rows)
            if sent:
                conn.execute(_MARK_SENT, {"ids": sent})
            return len(sent)

    def _publish(self, rows: Sequence[Row[*tuple[Any, ...]]]) -> list[int]:
        reports: dict[int, KafkaError | None] = {}
        produced: list[Row[Any]] = []
        waiting: set[str] = set()  # orders (keys) with an earlier row not done this round
        for row in rows:
            if row.key in waiting:
                continue
            try:
                self._apply_to_redis(row)
            except Exception as exc:  # Redis down: this order waits, the others go on
                log.warning(
                    "Redis step failed, order %s waits at outbox id %s: %r", row.key, row.id, exc
                )
                waiting.add(row.key)
                continue
            self._producer.produce(
                self._topic, row.body, row.key, on_delivery=partial(_report, reports, row.id)
            )
            produced.append(row)
        self._producer.flush(self._flush_timeout_s)
        return _delivered_in_order(produced, reports)

    def _apply_to_redis(self, row: Row[Any]) -> None:
        if row.event_type in RETURNS_STOCK:
            p = orjson.loads(row.body)
            self._releaser.release(p["sale_id"], p["order_id"], p["user_id"], int(p["quantity"]))
        elif row.event_type == REINSTATES:
            p = orjson.loads(row.body)
            self._releaser.reinstate(p["sale_id"], p["order_id"], p["user_id"])


def _delivered_in_order(
    produced: Sequence[Row[Any]], reports: dict[int, KafkaError | None]
) -> list[int]:
    """The rows to mark sent: delivered, with every earlier row of their order delivered
    too. A row after an undelivered one of the same order is sent again next round, after
    it (the consumers drop the copy), so no order's events are ever marked out of order."""
    sent: list[int] = []
    broken: set[str] = set()
    for row in produced:
        if row.key not in broken and row.id in reports and reports[row.id] is None:
            sent.append(row.id)
        else:
            broken.add(row.key)
    return sent


def _report(
    reports: dict[int, KafkaError | None], row_id: int, err: KafkaError | None, _msg: Message
) -> None:
    reports[row_id] = err
