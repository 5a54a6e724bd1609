"""Send once per (order, kind), with a fake store, fake channels and a fake DLQ: claim, send
and record each notice on its own."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from confluent_kafka import Message
from sqlalchemy.exc import InternalError, OperationalError

from flashsale.contracts import OrderCreated, OrderFailed, OrderPaid, encode
from flashsale.dlq import DeadLetter
from flashsale.metrics import RecordingMetrics
from notification_consumer.handler import NotificationBatchHandler, SendPolicy
from notification_consumer.messages import Notice, recipient_for
from notification_consumer.store import Claim, ClaimState

KINDS = {"order_created": "email", "order_paid": "sms"}


Key = tuple[uuid.UUID, str]


class ReadOnly(Exception):
    sqlstate = "25006"  # what psycopg raises on a replica after a failover


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


class FakeDlq:
    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    def send(self, letter: DeadLetter) -> None:
        self.letters.append(letter)


def _handler(
    store: FakeStore, email: FakeChannel, sms: FakeChannel, dlq: FakeDlq
) -> NotificationBatchHandler:
    policy = SendPolicy(max_attempts=3, base_s=0.0001, cap_s=0.001, email_domain="shop.test")
    channels = {"email": email, "sms": sms}
    return NotificationBatchHandler(
        store, channels, KINDS, dlq, RecordingMetrics(), threading.Event(), policy
    )


def _created(user: str = "alice") -> OrderCreated:
    expires = datetime.now(UTC) + timedelta(minutes=15)
    return OrderCreated(
        order_id=uuid.uuid4(), sale_id="s1", user_id=user, quantity=1, expires_at=expires
    )


def _msgs(*events: OrderCreated | OrderPaid | OrderFailed, start: int = 0) -> list[Message]:
    return [
        Message(topic="events", partition=0, offset=start + i, value=encode(e))
        for i, e in enumerate(events)
    ]


def test_duplicates_within_and_across_batches_send_once_per_order_and_kind() -> None:
    store, email, sms, dlq = FakeStore(), FakeChannel(), FakeChannel(), FakeDlq()
    handler = _handler(store, email, sms, dlq)
    created = _created()
    paid = OrderPaid(order_id=created.order_id, sale_id="s1", user_id="alice")
    handler(_msgs(created, created, paid))
    handler(_msgs(created, paid, start=3))  # a redelivery, or the relay's re-publication
    assert [(n.kind, n.recipient) for n in email.sent] == [("order_created", "alice@shop.test")]
    assert [(n.kind, n.recipient) for n in sms.sent] == [("order_paid", "alice")]
    assert dlq.letters == []


def test_a_failing_send_is_retried_and_sent_once() -> None:
    store, email, dlq = FakeStore(), FakeChannel(failures=2), FakeDlq()
    created = _created()
    _handler(store, email, FakeChannel(), dlq)(_msgs(created))
    assert len(email.sent) == 1
    assert store.status((created.order_id, "order_created")) == "SENT"


def test_a_send_failing_every_attempt_is_dead_lettered_and_a_replay_sends_it() -> None:
    store, email, dlq = FakeStore(), FakeChannel(failures=3), FakeDlq()
    handler = _handler(store, email, FakeChannel(), dlq)
    created = _created()
    handler(_msgs(created))
    assert store.status((created.order_id, "order_created")) == "FAILED"
    assert [letter.source_offset for letter in dlq.letters] == [0]
    handler(_msgs(created, start=10))  # `flashsale dlq replay` after the fix
    assert len(email.sent) == 1
    assert store.status((created.order_id, "order_created")) == "SENT"


def test_unnotified_events_are_skipped_and_garbage_is_dead_lettered() -> None:
    store, email, dlq = FakeStore(), FakeChannel(), FakeDlq()
    failed = OrderFailed(
        order_id=uuid.uuid4(), sale_id="s1", user_id="bob", quantity=1, reason="void"
    )
    batch = [*_msgs(failed), Message(topic="events", partition=0, offset=1, value=b"garbage")]
    _handler(store, email, FakeChannel(), dlq)(batch)
    assert email.sent == []
    assert [letter.source_offset for letter in dlq.letters] == [1]


def test_recipient_derivation() -> None:
    assert recipient_for("carol", "email", "shop.test") == "carol@shop.test"
    assert recipient_for("carol@mail.test", "email", "shop.test") == "carol@mail.test"
    assert recipient_for("carol", "sms", "shop.test") == "carol"


def _sent_ids(channel: FakeChannel) -> list[uuid.UUID]:
    return [n.order_id for n in channel.sent]


def test_one_failing_notice_mid_batch_sends_each_other_once_and_a_redelivery_nothing() -> None:
    events = [_created(f"user{i}") for i in range(5)]
    broken = events[2].order_id
    store, email, dlq = FakeStore(), FakeChannel(broken_for={broken}), FakeDlq()
    handler = _handler(store, email, FakeChannel(), dlq)
    handler(_msgs(*events))
    assert _sent_ids(email) == [e.order_id for e in events if e.order_id != broken]
    assert [letter.source_offset for letter in dlq.letters] == [2]
    assert [store.status((e.order_id, "order_created")) for e in events] == [
        "SENT", "SENT", "FAILED", "SENT", "SENT",
    ]  # fmt: skip
    handler(_msgs(*events, start=5))  # the same batch redelivered
    assert len(email.sent) == 4  # only the FAILED one was tried again, and failed again
    assert [letter.source_offset for letter in dlq.letters] == [2, 7]


def test_a_database_failure_mid_batch_sends_nothing_twice() -> None:
    events = [_created(f"user{i}") for i in range(5)]
    lost = OperationalError("UPDATE", {}, ConnectionResetError("connection lost"))
    read_only = InternalError("INSERT", {}, ReadOnly("read-only transaction"))
    store = FakeStore(
        faults={
            ("record", events[1].order_id): [lost, lost],  # after its send
            ("claim", events[3].order_id): [read_only] * 10,  # past max_attempts: never poison
        }
    )
    email, dlq = FakeChannel(), FakeDlq()
    _handler(store, email, FakeChannel(), dlq)(_msgs(*events))
    assert _sent_ids(email) == [e.order_id for e in events]  # each once, in order
    assert {store.status((e.order_id, "order_created")) for e in events} == {"SENT"}
    assert dlq.letters == []


def test_a_notice_claimed_by_a_consumer_that_died_is_sent_once_its_lease_runs_out() -> None:
    created = _created()
    store, email, dlq = FakeStore(), FakeChannel(), FakeDlq()
    store.hold((created.order_id, "order_created"), claims=3, then="EXPIRED")
    _handler(store, email, FakeChannel(), dlq)(_msgs(created))
    assert _sent_ids(email) == [created.order_id]
    assert store.status((created.order_id, "order_created")) == "SENT"


def test_a_notice_claimed_by_a_live_consumer_is_left_to_it() -> None:
    created = _created()
    store, email, dlq = FakeStore(), FakeChannel(), FakeDlq()
    store.hold((created.order_id, "order_created"), claims=3, then="SENT")
    _handler(store, email, FakeChannel(), dlq)(_msgs(created))
    assert email.sent == []  # the other claimant sent it
    assert dlq.letters == []


def test_a_failed_send_whose_claim_was_taken_over_is_not_dead_lettered() -> None:
    created = _created()
    key = (created.order_id, "order_created")
    store, dlq = FakeStore(), FakeDlq()

    def overtaken(_notice: Notice) -> None:  # a slow send outlived its lease
        store.rows[key] = ("PENDING", "other")

    email = FakeChannel(broken_for={created.order_id}, on_send=overtaken)
    _handler(store, email, FakeChannel(), dlq)(_msgs(created))
    assert dlq.letters == []  # the new claimant decides: it sends, or it dead-letters
    assert store.rows[key] == ("PENDING", "other")
