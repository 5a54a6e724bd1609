"""Send once per (order, kind), with a fake store, fake channels and a fake DLQ."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from confluent_kafka import Message

from flashsale.contracts import OrderCreated, OrderFailed, OrderPaid, encode
from flashsale.dlq import DeadLetter
from flashsale.metrics import RecordingMetrics
from notification_consumer.handler import NotificationBatchHandler, SendPolicy
from notification_consumer.messages import Notice, recipient_for

KINDS = {"order_created": "email", "order_paid": "sms"}


class FakeClaim:
    def __init__(self, store: FakeStore, notices: list[Notice]) -> None:
        self._store = store
        self.notices = notices

    def record(self, notice: Notice, sent: bool, attempts: int) -> None:
        self._store.rows[notice.key] = "SENT" if sent else "FAILED"


class FakeStore:
    """The unique key of the notifications table, in a dict."""

    def __init__(self) -> None:
        self.rows: dict[tuple[uuid.UUID, str], str] = {}

    @contextmanager
    def claim(self, notices: Sequence[Notice]) -> Iterator[FakeClaim]:
        claimed = []
        for notice in notices:
            if self.rows.get(notice.key, "FAILED") == "FAILED":  # new, or re-opened by a replay
                self.rows[notice.key] = "PENDING"
                claimed.append(notice)
        yield FakeClaim(self, claimed)


class FakeChannel:
    def __init__(self, failures: int = 0) -> None:
        self.sent: list[Notice] = []
        self.failures = failures

    def send(self, notice: Notice) -> None:
        if self.failures:
            self.failures -= 1
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
    assert store.rows[(created.order_id, "order_created")] == "SENT"


def test_a_send_failing_every_attempt_is_dead_lettered_and_a_replay_sends_it() -> None:
    store, email, dlq = FakeStore(), FakeChannel(failures=3), FakeDlq()
    handler = _handler(store, email, FakeChannel(), dlq)
    created = _created()
    handler(_msgs(created))
    assert store.rows[(created.order_id, "order_created")] == "FAILED"
    assert [letter.source_offset for letter in dlq.letters] == [0]
    handler(_msgs(created, start=10))  # `flashsale dlq replay` after the fix
    assert len(email.sent) == 1
    assert store.rows[(created.order_id, "order_created")] == "SENT"


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
