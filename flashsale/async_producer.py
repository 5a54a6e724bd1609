"""The order service's bridge from asyncio to the idempotent producer: `send` awaits the
broker's acknowledgement (acks=all), a polling thread serves the delivery callbacks, and a
producer hit by a fatal error is replaced (the `healthy` flag says so meanwhile)."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from flashsale.kafka import LIBRDKAFKA_LOG

__all__ = ["AsyncProducer", "DeliveryFailed"]

# A dead producer's purged messages get their reports at once; this only bounds a hang.
ABANDON_TIMEOUT_S = 5.0
# A delivery report waiting for its event loop: the future to settle, error, message.
Report = tuple["asyncio.Future[Message]", KafkaError | None, Message]


class DeliveryFailed(Exception):
    """The broker did not acknowledge a message. After a timeout it may still have landed."""

    def __init__(self, error: KafkaError | str) -> None:
        super().__init__(str(error))
        self.error = error


class AsyncProducer:
    """An idempotent producer whose `produce` is awaited until the delivery report arrives.

    librdkafka runs delivery callbacks from `poll()`: a daemon thread polls, each callback
    queues its report, and after each poll the thread hands all of them to the event loop
    at once: one wake-up of the loop per poll, not one per message.

    A fatal error (the idempotent producer lost its guarantees: a fenced producer id, an
    out-of-order sequence) leaves a client that fails every produce for good. The error
    callback, or a produce refused with it, marks the client dead; the polling thread
    then puts a new client in its place and abandons the old one: its messages are
    purged, so their futures fail with DeliveryFailed (the caller's usual 503 and void).
    `healthy` is False from the fatal error until the new client is in place.
    """

    def __init__(
        self,
        config: dict[str, Any],
        producer_factory: Callable[[dict[str, Any]], Producer] = Producer,
    ) -> None:
        self._config = config
        self._factory = producer_factory
        self._dead = threading.Event()
        self._reports: deque[Report] = deque()  # appended by callbacks, any thread
        self._generation = 0  # which client is current: see _create
        self._producer = self._create()
        self._stopping = threading.Event()
        self._poller = threading.Thread(
            target=self._poll_forever, name="kafka-delivery", daemon=True
        )
        self._poller.start()

    @property
    def healthy(self) -> bool:
        return not self._dead.is_set()

    def _create(self) -> Producer:
        # The callback knows its client by generation, not by reference: a client holding
        # a callback that holds the client is a cycle, and an abandoned client (its
        # threads, its connections) would then wait for the cyclic collector, or for
        # ever once frozen at startup (flashsale/process.py).
        self._generation += 1
        generation = self._generation

        def on_error(err: KafkaError) -> None:
            if _is_fatal(err):
                self._mark_dead(generation == self._generation, err)
            else:  # transient (a broker down...): librdkafka retries by itself
                LIBRDKAFKA_LOG.warning("kafka producer error: %s", err)

        return self._factory({**self._config, "error_cb": on_error})

    def _mark_dead(self, current: bool, err: KafkaError) -> None:
        # Only the current client: an abandoned one repeating its error changes nothing.
        if current and not self._dead.is_set():
            LIBRDKAFKA_LOG.error("fatal kafka producer error, replacing the producer: %s", err)
            self._dead.set()

    def _poll_forever(self) -> None:
        while not self._stopping.is_set():
            self._producer.poll(0.05)
            self._hand_over()
            if self._dead.is_set():
                self._replace()

    def _replace(self) -> None:
        """On the polling thread: new client first, so produces go on at once."""
        old = self._producer
        try:
            self._producer = self._create()
        except Exception:  # never leave the polling thread; try again shortly
            LIBRDKAFKA_LOG.exception("could not create a new kafka producer")
            self._stopping.wait(1.0)
            return
        self._dead.clear()
        _abandon(old)

    async def produce(
        self,
        topic: str,
        key: str,
        value: bytes,
        headers: dict[str, str | bytes | None] | None = None,
    ) -> Message:
        delivered: asyncio.Future[Message] = asyncio.get_running_loop().create_future()

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            self._reports.append((delivered, err, msg))

        producer = self._producer
        try:
            producer.produce(topic, value, key, headers=headers, on_delivery=on_delivery)
        except BufferError as exc:  # the local queue is full: the broker is down or slow
            raise DeliveryFailed("local producer queue full") from exc
        except KafkaException as exc:
            if _is_fatal(exc.args[0]):
                self._mark_dead(producer is self._producer, exc.args[0])
            raise DeliveryFailed(exc.args[0]) from exc
        return await delivered

    def close(self, timeout: float = 10.0) -> int:
        """Flush what is queued, stop polling; return how many messages were left unsent."""
        left: int = self._producer.flush(timeout)
        self._stopping.set()
        self._poller.join(timeout=1.0)
        self._hand_over()  # the reports flush() served on this thread
        return left

    def _hand_over(self) -> None:
        """Give the queued delivery reports to the loops awaiting them, one call each."""
        by_loop: dict[asyncio.AbstractEventLoop, list[Report]] = defaultdict(list)
        while self._reports:
            report = self._reports.popleft()
            by_loop[report[0].get_loop()].append(report)
        for loop, reports in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle_all, reports)
            except RuntimeError:  # that loop is closed: nobody awaits these any more
                LIBRDKAFKA_LOG.warning("%d delivery reports for a closed loop", len(reports))


def _is_fatal(err: KafkaError) -> bool:
    return bool(err.fatal()) or err.code() == KafkaError._FATAL


def _abandon(producer: Producer) -> None:
    """Fail every message of a dead client: purged messages get a delivery report with an
    error (the message may still have landed, as after a timeout), served by the flush."""
    try:
        producer.purge()
        left = producer.flush(ABANDON_TIMEOUT_S)
    except Exception:
        LIBRDKAFKA_LOG.exception("abandoning the dead kafka producer failed")
        return
    if left:
        LIBRDKAFKA_LOG.error("%d messages of the dead kafka producer got no report", left)


def _settle_all(reports: list[Report]) -> None:
    for future, err, msg in reports:
        if future.done():  # its request was cancelled
            continue
        if err is not None:
            future.set_exception(DeliveryFailed(err))
        else:
            future.set_result(msg)
