"""The inventory consumer's batch handler: decode, throttle, apply the batch in one DB
transaction, and route what fails (flashsale/failures.py).

It returns only when every message of the batch is either applied or dead-lettered: the
poll loop then stores the offsets. It raises `Stopped` when asked to stop mid-way, and
the unfinished batch is redelivered (idempotently) to the next owner.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from confluent_kafka import Message

from flashsale.backoff import backoff_delay
from flashsale.consumer_loop import Stopped
from flashsale.contracts import ContractError, OrderPlaced, OrderVoided, decode_event
from flashsale.dlq import DeadLetterFailed, DeadLetterSink, dead_letter_from
from flashsale.failures import Verdict, is_outage, route_failure
from flashsale.metrics import Metrics
from inventory_consumer.plan import plan_batch
from inventory_consumer.store import OrderStore
from inventory_consumer.throttle import TokenBucket

__all__ = ["InventoryBatchHandler", "RetryPolicy"]

log = logging.getLogger(__name__)
Item = tuple[Message, OrderPlaced | OrderVoided]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_s: float = 0.05
    cap_s: float = 5.0


def decode_order_message(msg: Message) -> OrderPlaced | OrderVoided:
    event = decode_event(msg.value())
    if not isinstance(event, OrderPlaced | OrderVoided):
        raise ContractError(f"{event.type} does not belong on the orders topic")
    return event


class InventoryBatchHandler:
    def __init__(
        self,
        store: OrderStore,
        dlq: DeadLetterSink,
        metrics: Metrics,
        stop: threading.Event,
        policy: RetryPolicy,
        throttle: TokenBucket | None = None,
        rand: Callable[[], float] | None = None,
    ) -> None:
        self._store = store
        self._dlq = dlq
        self._metrics = metrics
        self._stop = stop
        self._policy = policy
        self._throttle = throttle
        self._rand = rand

    def __call__(self, messages: Sequence[Message]) -> None:
        items: list[Item] = []
        for msg in messages:
            try:
                items.append((msg, decode_order_message(msg)))
            except ContractError as exc:  # no retry can fix it: to the DLQ at once
                self._dead_letter(msg, None, exc)
        if self._throttle is not None and items:
            self._sleep(self._throttle.reserve(len(items)))
        started = time.monotonic()
        self._apply(items)
        self._metrics.observe("flashsale_inventory_batch_seconds", time.monotonic() - started)

    def _apply(self, items: list[Item]) -> None:
        attempts = 0
        while items:
            try:
                outcome = self._store.apply(plan_batch(event for _, event in items))
            except Exception as exc:
                attempts += 1
                verdict = route_failure(exc, attempts, self._policy.max_attempts, len(items))
                log.warning(
                    "batch of %d failed (%s, attempt %d): %r",
                    len(items),
                    verdict.value,
                    attempts,
                    exc,
                )
                if verdict is Verdict.RETRY:
                    self._backoff(attempts)
                elif verdict is Verdict.BISECT:  # isolate the offender in log2(n) steps
                    half = len(items) // 2
                    self._apply(items[:half])
                    self._apply(items[half:])
                    return
                else:
                    self._dead_letter(items[0][0], items[0][1], exc)
                    return
            else:
                for name in ("created", "duplicates", "rejected", "voided", "tombstones"):
                    self._metrics.inc(
                        "flashsale_inventory_orders_total", getattr(outcome, name), result=name
                    )
                return

    def _dead_letter(
        self, msg: Message, event: OrderPlaced | OrderVoided | None, exc: BaseException
    ) -> None:
        self._metrics.inc("flashsale_dlq_messages_total", consumer="inventory")
        letter = dead_letter_from(msg, exc)
        self._until_done(lambda: self._dlq.send(letter))
        if isinstance(event, OrderPlaced):
            # The client holds this order id: it ends FAILED, and its OrderFailed outbox
            # row makes the relay give the Redis stock back (idempotently, per order id).
            reason = f"dead-lettered: {type(exc).__name__}"
            self._until_done(lambda: self._store.fail_placed(event, reason))

    def _until_done(self, action: Callable[[], None]) -> None:
        """Retry through outages (Kafka or DB down); give up only on a real error."""
        attempts = 0
        while True:
            try:
                action()
                return
            except Exception as exc:
                if not (isinstance(exc, DeadLetterFailed) or is_outage(exc)):
                    log.error("dead-letter follow-up failed for good: %r", exc)
                    return
                attempts += 1
                self._backoff(attempts)

    def _backoff(self, attempts: int) -> None:
        p = self._policy
        delay = backoff_delay(attempts, p.base_s, p.cap_s, *([self._rand] if self._rand else []))
        self._sleep(delay)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0 and self._stop.wait(seconds):
            raise Stopped
