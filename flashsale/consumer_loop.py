"""The at-least-once poll loop both consumers run: consume a batch, hand it to the
service's handler (which commits its DB transaction), and only THEN store the offsets.

Why this order: a crash after the DB commit and before the offsets were stored makes
Kafka redeliver the batch, and the handler's idempotent SQL turns the replay into a
no-op. The opposite order could lose a batch. The auto-commit thread (see
`consumer_config`) commits the stored offsets every second; `on_revoke` and shutdown
commit them synchronously, so a partition that moves carries all the finished work.

Rebalance callbacks run inside `consume()`, i.e. between batches, never during one:
on revoke every finished batch is already stored, so committing is all there is to do.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from flashsale.metrics import Metrics, bind

__all__ = ["BatchCounts", "BatchHandler", "BatchLoop", "Stopped", "offsets_to_store"]

log = logging.getLogger(__name__)


class Stopped(Exception):
    """Raised by a handler that was asked to stop before it could finish its batch: the
    batch's offsets stay unstored and Kafka redelivers it to the next owner."""


class BatchHandler(Protocol):
    def __call__(self, messages: Sequence[Message]) -> None: ...


class BatchCounts:
    """What every consumer counts per batch its handler finished: the messages (applied,
    skipped or dead-lettered) and the batch's size. Labels bound once, by consumer."""

    def __init__(self, metrics: Metrics, consumer: str) -> None:
        self._consumed = bind(metrics, "flashsale_consumed_messages_total", consumer=consumer)
        self._sizes = bind(metrics, "flashsale_batch_size", consumer=consumer)

    def handled(self, size: int) -> None:
        self._consumed.inc(size)
        self._sizes.observe(size)


def offsets_to_store(messages: Sequence[Message]) -> list[TopicPartition]:
    """One offset per partition: the next one to read, i.e. the highest seen plus one."""
    highest: dict[tuple[str, int], int] = {}
    for msg in messages:
        key = (msg.topic() or "", msg.partition() or 0)
        highest[key] = max(highest.get(key, -1), msg.offset() or 0)
    return [TopicPartition(t, p, o + 1) for (t, p), o in highest.items()]


class BatchLoop:
    def __init__(
        self,
        consumer: Consumer,
        topics: list[str],
        handler: BatchHandler,
        batch_max: Callable[[], int],
        batch_timeout_s: float,
        stop: threading.Event,
    ) -> None:
        self._consumer = consumer
        self._topics = topics
        self._handler = handler
        self._batch_max = batch_max
        self._batch_timeout_s = batch_timeout_s
        self._stop = stop

    def run(self) -> None:
        self._consumer.subscribe(
            self._topics,
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        try:
            while not self._stop.is_set():
                batch = self._consumer.consume(self._batch_max(), self._batch_timeout_s)
                records = [m for m in batch if _usable(m)]
                if not records:
                    continue
                try:
                    self._handler(records)
                except Stopped:
                    break
                self._store(records)
        finally:
            self._commit_stored()
            self._consumer.close()

    def _store(self, records: Sequence[Message]) -> None:
        try:
            self._consumer.store_offsets(offsets=offsets_to_store(records))
        except KafkaException as exc:
            # The partition was taken away while we worked (e.g. a long DB outage outlived
            # max.poll.interval.ms): the new owner redoes the batch, idempotently.
            log.warning("could not store offsets, the batch will be redelivered: %s", exc)

    def _commit_stored(self) -> None:
        try:
            self._consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                log.warning("offset commit failed: %s", exc)

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("assigned %s", [(p.topic, p.partition) for p in partitions])

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info(
            "revoked %s: committing finished work", [(p.topic, p.partition) for p in partitions]
        )
        self._commit_stored()

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Lost, not revoked: another member may own them already, so committing could
        # overwrite its progress. Kafka redelivers what we did not commit; that is safe.
        log.warning(
            "lost %s without a chance to commit", [(p.topic, p.partition) for p in partitions]
        )


def _usable(msg: Message) -> bool:
    err = msg.error()
    if err is None:
        return True
    log.warning("consumer error: %s", err)
    return False
