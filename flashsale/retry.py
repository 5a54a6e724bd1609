"""The one failure loop both consumers run around their writes: retry with backoff, split a
batch, or reject a single message, as `route_failure` decides; and the follow-ups that
must happen whatever it takes (a dead letter, a FAILED row), retried until they do.
`DeadLetters` is the consumers' one way to the DLQ: what cannot be decoded goes there at
once, what `settle` rejects after it.

Every wait ends early when the consumer is asked to stop: `Stopped` then leaves the
batch's offsets unstored, and Kafka redelivers it to the next owner (the writes are
idempotent, so redoing part of a batch is safe).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from confluent_kafka import Message

from flashsale.backoff import backoff_delay
from flashsale.consumer_loop import Stopped
from flashsale.contracts import ContractError
from flashsale.dlq import DeadLetterSink, dead_letter_from
from flashsale.failures import Verdict, is_infrastructure, route_failure
from flashsale.metrics import Metrics, bind

__all__ = ["DeadLetters", "Retrier", "RetryPolicy"]

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

# backoff_delay doubles its step per attempt: past a few dozen the cap holds anyway, and
# 2.0 ** n overflows a float after ~1,000 attempts, i.e. during a long enough outage.
_MAX_EXPONENT = 32


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_s: float = 0.05
    cap_s: float = 5.0


class Retrier:
    def __init__(
        self,
        policy: RetryPolicy,
        stop: threading.Event,
        rand: Callable[[], float] | None = None,
        what: str = "batch",
    ) -> None:
        self.policy = policy
        self._stop = stop
        self._rand = rand
        self._what = what

    def settle(
        self,
        items: Sequence[T],
        apply: Callable[[Sequence[T]], None],
        reject: Callable[[T, Exception], None],
    ) -> None:
        """Return once `apply` took every item, except those handed to `reject` one by one.

        Bisection isolates an offender in log2(n) transactions; a batch that fails for
        an infrastructure reason is retried whole, however long it takes.
        """
        attempts = 0
        while items:
            try:
                apply(items)
                return
            except Stopped:
                raise
            except Exception as exc:
                attempts += 1
                verdict = route_failure(exc, attempts, self.policy.max_attempts, len(items))
                log.warning(
                    "%s of %d failed (%s, attempt %d): %r",
                    self._what, len(items), verdict.value, attempts, exc,
                )  # fmt: skip
                if verdict is Verdict.RETRY:
                    self.backoff(attempts)
                    continue
                if verdict is Verdict.BISECT:
                    half = len(items) // 2
                    self.settle(items[:half], apply, reject)
                    self.settle(items[half:], apply, reject)
                else:
                    reject(items[0], exc)
                return

    def until_done(self, action: Callable[[], R], what: str) -> R:
        """Run `action` until it succeeds: for a write that must happen (a dead letter, the
        FAILED row of a token). Giving up would move the offset past a 202'd order."""
        attempts = 0
        while True:
            try:
                return action()
            except Stopped:
                raise
            except Exception as exc:
                attempts += 1
                if is_infrastructure(exc):
                    log.warning("%s failed (attempt %d), retrying: %r", what, attempts, exc)
                else:  # a bug or a bad row: someone must look, but the write is still owed
                    log.error("%s failed (attempt %d), retrying: %r", what, attempts, exc)
                self.backoff(attempts)

    def up_to_max(self, action: Callable[[], None], what: str) -> tuple[int, Exception | None]:
        """Try `action` at most `max_attempts` times, backing off in between: for a call
        whose every attempt counts (a send). Returns the attempts made and the last error
        (None: it succeeded)."""
        error: Exception | None = None
        for attempt in range(1, self.policy.max_attempts + 1):
            try:
                action()
                return attempt, None
            except Stopped:
                raise
            except Exception as exc:
                error = exc
                log.warning("%s failed (attempt %d): %r", what, attempt, exc)
            if attempt < self.policy.max_attempts:
                self.backoff(attempt)
        return self.policy.max_attempts, error

    def wait_while(self, read: Callable[[], R], busy: Callable[[R], bool], what: str) -> R:
        """Read until the answer is no longer `busy`, backing off in between: for what
        another consumer holds for a while (a claimed notice)."""
        waits = 0
        while busy(answer := read()):
            waits += 1
            log.info("%s: waiting (%d)", what, waits)
            self.backoff(waits)
        return answer

    def backoff(self, attempts: int) -> None:
        p = self.policy
        exponent = min(attempts, _MAX_EXPONENT)
        rand = (self._rand,) if self._rand is not None else ()
        self.sleep(backoff_delay(exponent, p.base_s, p.cap_s, *rand))

    def sleep(self, seconds: float) -> None:
        if seconds > 0 and self._stop.wait(seconds):
            raise Stopped


class DeadLetters:
    """A consumer's way to the DLQ: each letter counted, and retried until the DLQ acks it
    (an offset must never move past a message that is neither applied nor dead-lettered)."""

    def __init__(
        self, sink: DeadLetterSink, retrier: Retrier, metrics: Metrics, consumer: str
    ) -> None:
        self._sink = sink
        self._retrier = retrier
        self._dead_lettered = bind(metrics, "flashsale_dlq_messages_total", consumer=consumer)

    def send(self, msg: Message, exc: BaseException) -> None:
        self._dead_lettered.inc()
        letter = dead_letter_from(msg, exc)
        self._retrier.until_done(lambda: self._sink.send(letter), "dead letter")

    def decode(
        self, messages: Sequence[Message], decode: Callable[[Message], T]
    ) -> list[tuple[Message, T]]:
        """Each message with what `decode` read from it. One that breaks the contract goes
        to the DLQ at once: no retry can fix it."""
        decoded: list[tuple[Message, T]] = []
        for msg in messages:
            try:
                decoded.append((msg, decode(msg)))
            except ContractError as exc:
                self.send(msg, exc)
        return decoded
