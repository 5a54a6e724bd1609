"""The notification consumer's adapters as small interfaces: the handler sees only these
(adapters/sql.py, adapters/smtp.py and adapters/webhook.py implement them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol

from flashsale.dlq import DeadLetterSink
from notification_consumer.notices import Notice

__all__ = ["Channel", "Claim", "ClaimState", "DeadLetterSink", "NotificationStore"]


class ClaimState(Enum):
    CLAIMED = "claimed"  # ours: send it, then record the outcome
    HELD = "held"  # another claimant's lease is running: wait for its outcome
    DONE = "done"  # sent already: nothing to do


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    claimed_at: datetime | None = None  # set when CLAIMED: the fence of `record`


class NotificationStore(Protocol):
    """The send-once guard, one row per (order, kind); each call is a transaction of its own."""

    def claim(self, notice: Notice) -> Claim: ...

    def record(self, notice: Notice, claim: Claim, sent: bool, attempts: int) -> bool:
        """False when the claim was taken over (its lease ran out): nothing recorded."""


class Channel(Protocol):
    """One way to reach a user (email, sms, push). `send` raises on failure: the handler
    retries with backoff and dead-letters after the last attempt."""

    def send(self, notice: Notice) -> None: ...

    def close(self) -> None: ...
