"""Hand-written fakes of the notification consumer's ports (no mock.patch): the
notifications table in a dict and channels that fail on cue."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from notification_consumer.notices import Notice
from notification_consumer.ports import Claim, ClaimState

Key = tuple[uuid.UUID, str]


class FakeStore:
    """The notifications table in a dict: key -> (status, claimant). Each call stands for a
    transaction of its own, like the SQL store's. `faults[(op, order_id)]` are the errors
    the next calls of `op` ("claim", "record") for that order raise."""

    def __init__(self, faults: dict[tuple[str, uuid.UUID], list[Exception]] | None = None) -> None:
        self.rows: dict[Key, tuple[str, str]] = {}
        self.faults = faults or {}
        self._lease_left: dict[Key, int] = {}
        self._then: dict[Key, str] = {}

    def _maybe_fail(self, op: str, notice: Notice) -> None:
        errors = self.faults.get((op, notice.order_id))
        if errors:
            raise errors.pop(0)

    def hold(self, key: Key, claims: int, then: str) -> None:
        """Another consumer claimed `key`. After `claims` more claim calls it either recorded
        SENT (`then="SENT"`) or died and its lease ran out (`then="EXPIRED"`)."""
        self.rows[key] = ("PENDING", "other")
        self._lease_left[key], self._then[key] = claims, then

    def _tick(self, key: Key) -> None:
        if key in self._lease_left:
            self._lease_left[key] -= 1
            if self._lease_left[key] <= 0 and self._then.pop(key) == "SENT":
                self.rows[key] = ("SENT", "")

    def claim(self, notice: Notice) -> Claim:
        self._maybe_fail("claim", notice)
        self._tick(notice.key)
        status, _ = self.rows.get(notice.key, ("FAILED", ""))
        expired = status == "PENDING" and self._lease_left.get(notice.key, 0) <= 0
        if status == "FAILED" or expired:
            self.rows[notice.key] = ("PENDING", "us")
            return Claim(ClaimState.CLAIMED, datetime.now(UTC))
        return Claim(ClaimState.HELD if status == "PENDING" else ClaimState.DONE)

    def record(self, notice: Notice, claim: Claim, sent: bool, attempts: int) -> bool:
        self._maybe_fail("record", notice)
        if self.rows[notice.key] != ("PENDING", "us"):  # taken over meanwhile: fenced off
            return False
        self.rows[notice.key] = ("SENT" if sent else "FAILED", "")
        return True

    def status(self, key: Key) -> str:
        return self.rows[key][0]


class FakeChannel:
    def __init__(
        self,
        failures: int = 0,
        broken_for: set[uuid.UUID] | None = None,
        on_send: Callable[[Notice], None] | None = None,
    ) -> None:
        self.sent: list[Notice] = []
        self.failures = failures
        self.broken_for = broken_for or set()  # these orders' sends always fail
        self.on_send = on_send

    def send(self, notice: Notice) -> None:
        if self.on_send is not None:
            self.on_send(notice)
        if self.failures or notice.order_id in self.broken_for:
            self.failures = max(0, self.failures - 1)
            raise ConnectionError("smtp down")
        self.sent.append(notice)

    def close(self) -> None:
        pass
