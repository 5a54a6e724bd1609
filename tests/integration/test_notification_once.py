"""Issue 7, item 6: one failure in the middle of a notification batch resends nothing.

Ten confirmations in one batch, on the real SMTP sink. The sixth one's mailbox is broken,
and its first send also drops the consumer's database sessions (the store failing in the
middle of the batch). Each other email reaches the sink exactly once, the broken one goes
to the DLQ, and a redelivery of the whole batch sends nothing again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from flashsale.contracts import OrderCreated, encode
from flashsale.dlq import H_ERROR, H_SOURCE_OFFSET, header
from flashsale.lag import group_lag
from flashsale.settings import InfraSettings
from notification_consumer.adapters.smtp import SmtpChannel, message_id
from notification_consumer.notices import Notice
from notification_consumer.settings import NotificationConsumerSettings
from tests.fulfilment_helpers import (
    SmtpSink,
    inventory_settings,
    notification_settings,
    produce,
    running_notifications,
    session_url,
    terminate_sessions,
)
from tests.kafka_helpers import read_topic
from tests.polling import eventually
from tests.random_refs import random_group, random_user_id, suffix

pytestmark = pytest.mark.integration

NOTICES, BROKEN = 10, 5


class BrokenMailbox:
    """Real SMTP for every order but one, whose sends all fail; the first of them also
    runs `on_first_failure` (dropping the consumer's DB sessions)."""

    def __init__(
        self, smtp_port: int, broken: uuid.UUID, on_first_failure: Callable[[], int]
    ) -> None:
        self._smtp = SmtpChannel("127.0.0.1", smtp_port, "shop@flashsale.test")
        self._broken = broken
        self._on_first_failure = on_first_failure
        self.failures = 0
        self.sessions_dropped = 0

    def send(self, notice: Notice) -> None:
        if notice.order_id != self._broken:
            self._smtp.send(notice)
            return
        self.failures += 1
        if self.failures == 1:
            self.sessions_dropped = self._on_first_failure()
        raise ConnectionError("550 mailbox unavailable")

    def close(self) -> None:
        self._smtp.close()


def _created() -> OrderCreated:
    expires = datetime.now(UTC) + timedelta(minutes=15)
    return OrderCreated(
        order_id=uuid.uuid4(), sale_id="s", user_id=random_user_id(), quantity=1,
        expires_at=expires,
    )  # fmt: skip


def _run_until_committed(
    infra: InfraSettings, settings: NotificationConsumerSettings, channel: BrokenMailbox
) -> None:
    """Run a consumer until its group committed the whole batch."""

    def committed() -> bool:
        group, topic = settings.notification_group_id, settings.order_events_topic
        return group_lag(infra.kafka_bootstrap, group, topic) == 0

    with running_notifications(settings, channels={"email": channel}):
        eventually(committed, 60, "the batch processed and committed")


def _statuses(engine: Engine, events: list[OrderCreated]) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT status, count(*) FROM notifications"
                " WHERE order_id = ANY(CAST(:ids AS uuid[])) AND kind = 'order_created'"
                " GROUP BY status"
            ),
            {"ids": [e.order_id for e in events]},
        ).all()
    return {status: count for status, count in rows}


def test_one_failure_mid_batch_sends_each_email_once_and_a_redelivery_none(
    infra: InfraSettings, engine: Engine
) -> None:
    topics = inventory_settings(infra, partitions=1)  # this test's own topics
    events = [_created() for _ in range(NOTICES)]
    broken = events[BROKEN].order_id
    produce(
        infra.kafka_bootstrap,
        topics.order_events_topic,
        [(str(e.order_id), encode(e)) for e in events],
    )
    app = f"test-notify-{suffix()}"
    with SmtpSink() as smtp:
        settings = notification_settings(
            infra, topics, smtp.port, database_url=session_url(infra.database_url, app),
            max_attempts=2, batch_max_ms=2000,
        )  # fmt: skip
        first = BrokenMailbox(smtp.port, broken, lambda: terminate_sessions(engine, app))
        _run_until_committed(infra, settings, first)
        dead = read_topic(infra.kafka_bootstrap, topics.dlq_topic, 1, timeout=10)
        mails_first = smtp.received()

        # The same batch again, as after a rebalance or a restart before the commit.
        again = settings.model_copy(update={"notification_group_id": random_group("again")})
        second = BrokenMailbox(smtp.port, broken, lambda: 0)
        _run_until_committed(infra, again, second)
        mails_after = smtp.received()

    print(f"{NOTICES} notices, one broken: {len(mails_first)} mails, {len(dead)} dead letter, "
          f"{first.sessions_dropped} DB sessions dropped mid-batch; "
          f"redelivery: {len(mails_after) - len(mails_first)} new mails")  # fmt: skip
    assert first.sessions_dropped >= 1  # the store did fail in the middle of the batch
    expected = sorted(
        message_id(Notice(e.order_id, "order_created", "email", "", "", ""))
        for e in events
        if e.order_id != broken
    )
    assert sorted(m["Message-ID"] for m in mails_first) == expected  # each exactly once
    assert [header(m, H_SOURCE_OFFSET) for m in dead] == [str(BROKEN)]
    assert "mailbox unavailable" in (header(dead[0], H_ERROR) or "")
    assert len(mails_after) == len(mails_first)  # the redelivery sent nothing again
    assert second.failures == 2  # only the FAILED one was tried again (a replay would)
    assert _statuses(engine, events) == {"SENT": NOTICES - 1, "FAILED": 1}
