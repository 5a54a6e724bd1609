"""Send once per (order, kind) (notification_consumer/handlers.py), with a fake store, fake
channels and a fake DLQ: claim, send and record each notice on its own."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from confluent_kafka import Message
from sqlalchemy.exc import InternalError, OperationalError

from flashsale.contracts import OrderCreated, OrderFailed, OrderPaid, encode
from flashsale.metrics import RecordingMetrics
from notification_consumer.handlers import NotificationBatchHandler, SendPolicy
from notification_consumer.notices import Notice
from tests.unit.fakes import FakeDlq, kafka_message
from tests.unit.notification_consumer.fakes import FakeChannel, FakeStore

KINDS = {"order_created": "email", "order_paid": "sms"}


class ReadOnly(Exception):
    sqlstate = "25006"  # what psycopg raises on a replica after a failover


def _handler(
    store: FakeStore,
    email: FakeChannel,
    sms: FakeChannel | None,  # None: no sms channel configured
    dlq: FakeDlq,
    metrics: RecordingMetrics | None = None,
) -> NotificationBatchHandler:
    policy = SendPolicy(max_attempts=3, base_s=0.0001, cap_s=0.001, email_domain="shop.test")
    channels = {"email": email} if sms is None else {"email": email, "sms": sms}
    return NotificationBatchHandler(
        store, channels, KINDS, dlq, metrics or RecordingMetrics(), threading.Event(), policy
    )


def _created(user: str = "alice") -> OrderCreated:
    expires = datetime.now(UTC) + timedelta(minutes=15)
    return OrderCreated(
        order_id=uuid.uuid4(), sale_id="s1", user_id=user, quantity=1, expires_at=expires
    )


def _msgs(*events: OrderCreated | OrderPaid | OrderFailed, start: int = 0) -> list[Message]:
    return [kafka_message(encode(e), start + i, topic="events") for i, e in enumerate(events)]


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
    assert dlq.offsets() == [0]
    handler(_msgs(created, start=10))  # `flashsale dlq replay` after the fix
    assert len(email.sent) == 1
    assert store.status((created.order_id, "order_created")) == "SENT"


def test_unnotified_events_are_skipped_and_garbage_is_dead_lettered() -> None:
    store, email, dlq = FakeStore(), FakeChannel(), FakeDlq()
    failed = OrderFailed(
        order_id=uuid.uuid4(), sale_id="s1", user_id="bob", quantity=1, reason="void"
    )
    batch = [*_msgs(failed), kafka_message(b"garbage", 1, topic="events")]
    _handler(store, email, FakeChannel(), dlq)(batch)
    assert email.sent == []
    assert dlq.offsets() == [1]


def _sent_ids(channel: FakeChannel) -> list[uuid.UUID]:
    return [n.order_id for n in channel.sent]


def test_one_failing_notice_mid_batch_sends_each_other_once_and_a_redelivery_nothing() -> None:
    events = [_created(f"user{i}") for i in range(5)]
    broken = events[2].order_id
    store, email, dlq = FakeStore(), FakeChannel(broken_for={broken}), FakeDlq()
    handler = _handler(store, email, FakeChannel(), dlq)
    handler(_msgs(*events))
    assert _sent_ids(email) == [e.order_id for e in events if e.order_id != broken]
    assert dlq.offsets() == [2]
    assert [store.status((e.order_id, "order_created")) for e in events] == [
        "SENT", "SENT", "FAILED", "SENT", "SENT",
    ]  # fmt: skip
    handler(_msgs(*events, start=5))  # the same batch redelivered
    assert len(email.sent) == 4  # only the FAILED one was tried again, and failed again
    assert dlq.offsets() == [2, 7]


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


def test_a_notice_for_a_channel_nobody_configured_is_failed_dead_lettered_and_counted() -> None:
    store, metrics = FakeStore(), RecordingMetrics()
    created = _created()
    paid = OrderPaid(order_id=created.order_id, sale_id="s1", user_id="alice")
    _handler(store, FakeChannel(), None, dlq := FakeDlq(), metrics)(_msgs(created, paid))
    assert store.status((created.order_id, "order_paid")) == "FAILED"
    assert [(letter.source_offset, letter.error_type) for letter in dlq.letters] == [
        (1, "SendFailed")
    ]
    assert metrics.count("flashsale_notifications_total", channel="email", outcome="sent") == 1
    assert metrics.count("flashsale_notifications_total", channel="sms", outcome="failed") == 1
    assert metrics.count("flashsale_dlq_messages_total", consumer="notifications") == 1


def test_a_notice_sent_before_is_counted_skipped_and_every_message_consumed() -> None:
    store, email, metrics = FakeStore(), FakeChannel(), RecordingMetrics()
    handler = _handler(store, email, FakeChannel(), FakeDlq(), metrics)
    created = _created()
    handler(_msgs(created))
    handler(_msgs(created, created, start=1))  # a redelivery: one notice, sent already
    assert metrics.count("flashsale_notifications_total", channel="email", outcome="sent") == 1
    assert metrics.count("flashsale_notifications_total", channel="email", outcome="skipped") == 1
    assert metrics.count("flashsale_consumed_messages_total", consumer="notifications") == 3
    assert metrics.observations["flashsale_batch_size"] == [1, 2]
