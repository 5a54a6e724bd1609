"""The notification consumer's batch handler: decode, claim the rows, send each claimed
notice once (retrying with backoff), dead-letter what cannot be sent or parsed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from confluent_kafka import Message

from flashsale.backoff import backoff_delay
from flashsale.consumer_loop import Stopped
from flashsale.contracts import ContractError, decode_event
from flashsale.dlq import DeadLetterFailed, DeadLetterSink, dead_letter_from
from flashsale.failures import Verdict, route_failure
from flashsale.metrics import Metrics
from notification_consumer.channels import Channel
from notification_consumer.messages import Notice, notice_for
from notification_consumer.store import NotificationStore

__all__ = ["NotificationBatchHandler", "SendPolicy"]

log = logging.getLogger(__name__)


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
        self._stop = stop
        self._policy = policy

    def __call__(self, messages: Sequence[Message]) -> None:
        notices: dict[tuple[object, str], tuple[Notice, Message]] = {}
        for msg in messages:
            try:
                event = decode_event(msg.value())
            except ContractError as exc:
                self._dead_letter(msg, exc)
                continue
            notice = notice_for(event, self._kind_channels, self._policy.email_domain)
            if notice is not None:
                notices.setdefault(notice.key, (notice, msg))  # a duplicate in the batch
        self._deliver(list(notices.values()))

    def _deliver(self, items: list[tuple[Notice, Message]]) -> None:
        attempts = 0
        while items:
            try:
                failed = self._send_claimed(items)
            except Exception as exc:
                attempts += 1
                verdict = route_failure(exc, attempts, self._policy.max_attempts, len(items))
                log.warning("notification batch failed (%s): %r", verdict.value, exc)
                if verdict is Verdict.RETRY:
                    self._backoff(attempts)
                    continue
                if verdict is Verdict.BISECT:
                    half = len(items) // 2
                    self._deliver(items[:half])
                    self._deliver(items[half:])
                else:
                    self._dead_letter(items[0][1], exc)
                return
            for msg, error in failed:  # after the commit: the FAILED rows are recorded
                self._dead_letter(msg, error)
            return

    def _send_claimed(self, items: list[tuple[Notice, Message]]) -> list[tuple[Message, Exception]]:
        source = {notice.key: msg for notice, msg in items}
        failed: list[tuple[Message, Exception]] = []
        with self._store.claim([notice for notice, _ in items]) as claim:
            for notice in claim.notices:
                attempts, error = self._send(notice)
                claim.record(notice, sent=error is None, attempts=attempts)
                self._metrics.inc("flashsale_notifications_total", channel=notice.channel,
                                  result="sent" if error is None else "failed")  # fmt: skip
                if error is not None:
                    failed.append((source[notice.key], error))
        return failed

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
                log.warning(
                    "send %s via %s failed (attempt %d): %r",
                    notice.key,
                    notice.channel,
                    attempt,
                    exc,
                )
                if attempt < self._policy.max_attempts:
                    self._backoff(attempt)
        return self._policy.max_attempts, SendFailed(f"{notice.channel}: {error!r}")

    def _dead_letter(self, msg: Message, exc: BaseException) -> None:
        self._metrics.inc("flashsale_dlq_messages_total", consumer="notifications")
        letter = dead_letter_from(msg, exc)
        attempts = 0
        while True:
            try:
                self._dlq.send(letter)
                return
            except DeadLetterFailed:
                attempts += 1
                self._backoff(attempts)

    def _backoff(self, attempts: int) -> None:
        p = self._policy
        if self._stop.wait(backoff_delay(attempts, p.base_s, p.cap_s)):
            raise Stopped
