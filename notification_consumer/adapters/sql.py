"""The notifications table as the send-once guard: one row per (order, kind).

Each notice goes through three steps, and no transaction stays open across the network:

1. `claim`, its own short committed transaction: insert the row PENDING with
   `claimed_at = now()`, or take over a FAILED row (a DLQ replay) or a PENDING row whose
   lease ran out (its claimant died between claim and record). A SENT row, or a PENDING
   row under a live lease, is not ours.
2. The send, by the handler, with nothing held in the database.
3. `record` the outcome, its own transaction, fenced by `claimed_at`: a claimant whose
   lease was taken over records nothing (the new claimant will).

So a failure of one notice, or of the database halfway through a batch, never resends
the notices already recorded. A crash between a send and its record resends once the
lease has run out, with the same Message-ID / Idempotency-Key, so the receiver can tell.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from notification_consumer.notices import Notice
from notification_consumer.ports import Claim, ClaimState

__all__ = ["SqlNotificationStore"]

# A conflicting insert by a concurrent claimant waits on its row lock, then re-reads the
# row: of two consumers claiming at once, exactly one gets a RETURNING row.
_CLAIM = text("""
    INSERT INTO notifications (order_id, kind, channel, recipient, claimed_at)
    VALUES (:order_id, :kind, :channel, :recipient, now())
    ON CONFLICT (order_id, kind) DO UPDATE SET status = 'PENDING', claimed_at = now()
        WHERE notifications.status = 'FAILED'
           OR (notifications.status = 'PENDING'
               AND (notifications.claimed_at IS NULL
                    OR notifications.claimed_at < now() - make_interval(secs => :lease_s)))
    RETURNING claimed_at""")

_STATUS = text("SELECT status FROM notifications WHERE order_id = :order_id AND kind = :kind")

_RECORD = text("""
    UPDATE notifications
    SET status = CASE WHEN :sent THEN 'SENT' ELSE 'FAILED' END,
        attempts = attempts + :attempts,
        sent_at = CASE WHEN :sent THEN now() END
    WHERE order_id = :order_id AND kind = :kind
      AND status = 'PENDING' AND claimed_at = :claimed_at""")


class SqlNotificationStore:
    """The `NotificationStore` port on PostgreSQL."""

    def __init__(self, engine: Engine, lease_s: float) -> None:
        self._engine = engine
        self._lease_s = lease_s

    def claim(self, notice: Notice) -> Claim:
        key = {"order_id": notice.order_id, "kind": notice.kind}
        with self._engine.begin() as conn:
            claimed_at = conn.execute(
                _CLAIM,
                {**key, "channel": notice.channel, "recipient": notice.recipient,
                 "lease_s": self._lease_s},
            ).scalar()  # fmt: skip
            if claimed_at is not None:
                return Claim(ClaimState.CLAIMED, claimed_at)
            status = conn.execute(_STATUS, key).scalar()
        return Claim(ClaimState.HELD if status == "PENDING" else ClaimState.DONE)

    def record(self, notice: Notice, claim: Claim, sent: bool, attempts: int) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                _RECORD,
                {"sent": sent, "attempts": attempts, "order_id": notice.order_id,
                 "kind": notice.kind, "claimed_at": claim.claimed_at},
            )  # fmt: skip
            return bool(result.rowcount)
