"""The notification consumer's batch handler: decode, then per notice claim, send, record
(notification_consumer/store.py), and dead-letter what cannot be sent or parsed.

Notice by notice, each step committed on its own: a failure of one notice, or of the
database halfway through a batch, never sends again what was already sent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from confluent_kafka import Message

from flashsale.contracts import ContractError, decode_event
from flashsale.dlq import DeadLetterSink, dead_letter_from
from flashsale.metrics import Metrics
from flashsale.retry import Retrier, RetryPolicy
from notification_consumer.channels import Channel
from notification_consumer.messages import Notice, notice_for
from notification_consumer.store import Claim, ClaimState, NotificationStore

__all__ = ["NotificationBatchHandler", "SendPolicy"]

log = logging.getLogger(__name__)
Item = tuple[Notice, Message]


class SendFailed(Exception):
    """Every attempt of a send failed: its event goes to the DLQ."""


@dataclass(frozen=True)
class SendPolicy:
    max_attempts: int = 4
    base_s: float = 0.2
    cap_s: float = 5.0
    email_domain: str = "example.com"


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
        self._dlq = dlq
        self._metrics = metrics
        self._policy = policy
        retry = RetryPolicy(policy.max_attempts, policy.base_s, policy.cap_s)
        self._retry = Retrier(retry, stop, what="notice")

    def __call__(self, messages: Sequence[Message]) -> None:
        notices: dict[tuple[object, str], Item] = {}
        for msg in messages:
            try:
                event = decode_event(msg.value())
            except ContractError as exc:
                self._dead_letter(msg, exc)
                continue
            notice = notice_for(event, self._kind_channels, self._policy.email_domain)
            if notice is not None:
                notices.setdefault(notice.key, (notice, msg))  # a duplicate in the batch
        for item in notices.values():  # one at a time: a retry never redoes another notice
            self._retry.settle([item], self._deliver, self._reject)

    def _deliver(self, items: Sequence[Item]) -> None:
        for notice, msg in items:
            claim = self._claim(notice)  # a DB error here is routed by settle: nothing sent
            if claim.state is ClaimState.CLAIMED:
                self._send_and_record(notice, msg, claim)

    def _claim(self, notice: Notice) -> Claim:
        """Wait while another claimant holds the notice: it sends it, or its lease runs out
        (it died) and the notice is ours. Moving on would lose the notice in the second case."""
        waits = 0
        while (claim := self._store.claim(notice)).state is ClaimState.HELD:
            waits += 1
            log.info("notice %s is claimed elsewhere: waiting (%d)", notice.key, waits)
            self._retry.backoff(waits)
        return claim

    def _send_and_record(self, notice: Notice, msg: Message, claim: Claim) -> None:
        attempts, error = self._send(notice)
        sent = error is None
        # Sent is sent: the record is retried until it lands, never the send.
        recorded = self._retry.until_done(
            lambda: self._store.record(notice, claim, sent, attempts), "recording a notice"
        )
        self._metrics.inc("flashsale_notifications_total", channel=notice.channel,
                          result="sent" if sent else "failed")  # fmt: skip
        if error is not None and recorded:  # not recorded: a later claimant owns it now
            self._dead_letter(msg, error)

    def _send(self, notice: Notice) -> tuple[int, Exception | None]:
        channel = self._channels.get(notice.channel)
        if channel is None:
            return 1, SendFailed(f"no channel {notice.channel!r} configured")
        error: Exception | None = None
        for attempt in range(1, self._policy.max_attempts + 1):
            try:
                channel.send(notice)
                return attempt, None
            except Exception as exc:
                error = exc
                log.warning("send %s via %s failed (attempt %d): %r",
                            notice.key, notice.channel, attempt, exc)  # fmt: skip
            if attempt < self._policy.max_attempts:
                self._retry.backoff(attempt)
        return self._policy.max_attempts, SendFailed(f"{notice.channel}: {error!r}")

    def _reject(self, item: Item, exc: Exception) -> None:
        self._dead_letter(item[1], exc)

    def _dead_letter(self, msg: Message, exc: BaseException) -> None:
        self._metrics.inc("flashsale_dlq_messages_total", consumer="notifications")
        letter = dead_letter_from(msg, exc)
        self._retry.until_done(lambda: self._dlq.send(letter), "dead letter")
