"""The notifications table as the send-once guard.

`claim` runs one transaction around a batch's sends: it inserts a PENDING row per
(order, kind) with ON CONFLICT, and hands back only the rows it inserted (or a FAILED row
it re-opens, for a DLQ replay). A duplicate event finds its row and is handed nothing; a
concurrent duplicate (two members during a rebalance) waits on the row lock and then
finds it. The sends happen while the claim is held and their outcome is written before
the commit: a crash mid-batch rolls the claim back, and the redelivery sends again
(with the same Message-ID / Idempotency-Key, so the receiver can tell).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from sqlalchemy import Connection, Engine, text

from notification_consumer.messages import Notice

__all__ = ["Claim", "NotificationStore", "SqlNotificationStore"]

_CLAIM = text("""
    INSERT INTO notifications (order_id, kind, channel, recipient)
    SELECT * FROM unnest(CAST(:order_ids AS uuid[]), CAST(:kinds AS text[]),
                         CAST(:channels AS text[]), CAST(:recipients AS text[]))
    ON CONFLICT (order_id, kind) DO UPDATE SET status = 'PENDING'
        WHERE notifications.status = 'FAILED'
    RETURNING order_id, kind""")

_RECORD = text("""
    UPDATE notifications
    SET status = CASE WHEN :sent THEN 'SENT' ELSE 'FAILED' END,
        attempts = attempts + :attempts,
        sent_at = CASE WHEN :sent THEN now() END
    WHERE order_id = :order_id AND kind = :kind""")


class Claim(Protocol):
    notices: list[Notice]  # the ones this batch must send

    def record(self, notice: Notice, sent: bool, attempts: int) -> None: ...


class NotificationStore(Protocol):
    def claim(self, notices: Sequence[Notice]) -> AbstractContextManager[Claim]: ...


class _SqlClaim:
    def __init__(self, conn: Connection, notices: list[Notice]) -> None:
        self._conn = conn
        self.notices = notices

    def record(self, notice: Notice, sent: bool, attempts: int) -> None:
        self._conn.execute(
            _RECORD,
            {
                "sent": sent,
                "attempts": attempts,
                "order_id": notice.order_id,
                "kind": notice.kind,
            },
        )


class SqlNotificationStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def claim(self, notices: Sequence[Notice]) -> Iterator[Claim]:
        with self._engine.begin() as conn:
            claimed: set[tuple[uuid.UUID, str]] = set()
            if notices:
                rows = conn.execute(
                    _CLAIM,
                    {
                        "order_ids": [n.order_id for n in notices],
                        "kinds": [n.kind for n in notices],
                        "channels": [n.channel for n in notices],
                        "recipients": [n.recipient for n in notices],
                    },
                )
                claimed = {(r.order_id, r.kind) for r in rows}
            yield _SqlClaim(conn, [n for n in notices if n.key in claimed])
