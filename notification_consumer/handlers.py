"""The notification consumer's batch handler: decode, then per notice claim, send, record
(adapters/sql.py), and dead-letter what cannot be sent or parsed. What fails is routed by
the kernel (flashsale/retry.py, flashsale/failures.py).

Notice by notice, each step committed on its own: a failure of one notice, or of the
database halfway through a batch, never sends again what was already sent.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from confluent_kafka import Message

from flashsale.consumer_loop import BatchCounts
from flashsale.contracts import Event, decode_event
from flashsale.metrics import Children, Metrics
from flashsale.retry import DeadLetters, Retrier, RetryPolicy
from notification_consumer.notices import Notice, notice_for
from notification_consumer.ports import (
    Channel,
    Claim,
    ClaimState,
    DeadLetterSink,
    NotificationStore,
)

__all__ = ["NotificationBatchHandler", "SendFailed", "SendPolicy"]

Item = tuple[Notice, Message]
CONSUMER = "notifications"  # the `consumer` label of the families both consumers export


class SendFailed(Exception):
    """Every attempt of a send failed: its event goes to the DLQ."""


@dataclass(frozen=True)
class SendPolicy:
    max_attempts: int = 4
    base_s: float = 0.2
    cap_s: float = 5.0
    email_domain: str = "example.com"


def decode_event_message(msg: Message) -> Event:
    return decode_event(msg.value())


class NotificationBatchHandler:
    def __init__(
        self,
        store: NotificationStore,
        channels: Mapping[str, Channel],
        kind_channels: Mapping[str, str],
        dlq: DeadLetterSink,
        metrics: Metrics,
        stop: threading.Event,
        policy: SendPolicy,
    ) -> None:
        self._store = store
        self._channels = channels
        self._kind_channels = kind_channels
        self._notified = Children(metrics, "flashsale_notifications_total")  # by channel
        self._batches = BatchCounts(metrics, CONSUMER)
        self._email_domain = policy.email_domain
        retry = RetryPolicy(policy.max_attempts, policy.base_s, policy.cap_s)
        self._retry = Retrier(retry, stop, what="notice")
        self._dead_letters = DeadLetters(dlq, self._retry, metrics, consumer=CONSUMER)

    def __call__(self, messages: Sequence[Message]) -> None:
        notices: dict[tuple[object, str], Item] = {}
        for msg, event in self._dead_letters.decode(messages, decode_event_message):
            notice = notice_for(event, self._kind_channels, self._email_domain)
            if notice is not None:
                notices.setdefault(notice.key, (notice, msg))  # a duplicate in the batch
        for item in notices.values():  # one at a time: a retry never redoes another notice
            self._retry.settle([item], self._deliver, self._reject)
        self._batches.handled(len(messages))

    def _deliver(self, items: Sequence[Item]) -> None:
        for notice, msg in items:
            claim = self._claim(notice)  # a DB error here is routed by settle: nothing sent
            if claim.state is ClaimState.CLAIMED:
                self._send_and_record(notice, msg, claim)
            else:  # DONE: sent before (a redelivery, or a duplicate event)
                self._notified.of(notice.channel, "skipped").inc()

    def _claim(self, notice: Notice) -> Claim:
        """Wait while another claimant holds the notice: it sends it, or its lease runs out
        (it died) and the notice is ours. Moving on would lose the notice in the second case."""
        return self._retry.wait_while(
            partial(self._store.claim, notice),
            lambda claim: claim.state is ClaimState.HELD,
            f"notice {notice.key} is claimed elsewhere",
        )

    def _send_and_record(self, notice: Notice, msg: Message, claim: Claim) -> None:
        attempts, error = self._send(notice)
        sent = error is None
        # Sent is sent: the record is retried until it lands, never the send.
        recorded = self._retry.until_done(
            lambda: self._store.record(notice, claim, sent, attempts), "recording a notice"
        )
        self._notified.of(notice.channel, "sent" if sent else "failed").inc()
        if error is not None and recorded:  # not recorded: a later claimant owns it now
            self._dead_letters.send(msg, error)

    def _send(self, notice: Notice) -> tuple[int, Exception | None]:
        channel = self._channels.get(notice.channel)
        if channel is None:
            return 1, SendFailed(f"no channel {notice.channel!r} configured")
        attempts, error = self._retry.up_to_max(
            partial(channel.send, notice), f"send {notice.key} via {notice.channel}"
        )
        return attempts, None if error is None else SendFailed(f"{notice.channel}: {error!r}")

    def _reject(self, item: Item, exc: Exception) -> None:
        self._dead_letters.send(item[1], exc)
