"""The at-least-once poll loop (flashsale/consumer_loop.py): which offsets it stores, and
that it stores them only after the handler returned. A fake consumer plays the broker."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import KafkaError, Message, TopicPartition

from flashsale.consumer_loop import BatchLoop, Stopped, offsets_to_store
from tests.unit.fakes import kafka_message


def _offsets(partitions: Sequence[TopicPartition]) -> set[tuple[str, int, int]]:
    return {(p.topic, p.partition, p.offset) for p in partitions}


def test_no_messages_store_no_offsets() -> None:
    assert offsets_to_store([]) == []


def test_one_offset_per_partition_the_highest_seen_plus_one() -> None:
    batch = [
        kafka_message(b"", 7, topic="orders", partition=0),
        kafka_message(b"", 5, topic="orders", partition=0),  # out of order: max wins
        kafka_message(b"", 3, topic="orders", partition=1),
        kafka_message(b"", 0, topic="events", partition=0),  # same number, other topic
    ]
    assert _offsets(offsets_to_store(batch)) == {
        ("orders", 0, 8),
        ("orders", 1, 4),
        ("events", 0, 1),
    }


class FakeConsumer:
    """Hands out scripted batches, then sets `stop`; records what the loop stores and commits."""

    def __init__(self, batches: list[list[Message]], stop: threading.Event) -> None:
        self._batches = batches
        self._stop = stop
        self.stored: list[set[tuple[str, int, int]]] = []
        self.commits = 0
        self.closed = False

    def subscribe(self, topics: list[str], **callbacks: Any) -> None:
        self.topics = topics

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        if not self._batches:
            self._stop.set()
            return []
        return self._batches.pop(0)

    def store_offsets(self, offsets: list[TopicPartition]) -> None:
        self.stored.append(_offsets(offsets))

    def commit(self, asynchronous: bool) -> None:
        self.commits += 1

    def close(self) -> None:
        self.closed = True


def _run(
    batches: list[list[Message]], handler: Callable[[Sequence[Message]], None]
) -> FakeConsumer:
    stop = threading.Event()
    consumer = FakeConsumer(batches, stop)
    BatchLoop(consumer, ["orders"], handler, lambda: 10, 0.01, stop).run()  # type: ignore[arg-type]
    return consumer


def test_offsets_are_stored_after_each_handled_batch_and_committed_on_close() -> None:
    handled: list[list[int]] = []
    batches = [
        [kafka_message(b"a", 0), kafka_message(b"b", 1)],
        [kafka_message(b"c", 2)],
    ]
    consumer = _run(batches, lambda msgs: handled.append([m.offset() or 0 for m in msgs]))
    assert handled == [[0, 1], [2]]
    assert consumer.stored == [{("orders", 0, 2)}, {("orders", 0, 3)}]
    assert (consumer.commits, consumer.closed) == (1, True)


def test_error_records_are_skipped_and_never_reach_the_handler() -> None:
    eof = Message(
        topic="orders", partition=0, offset=5, error=KafkaError(KafkaError._PARTITION_EOF)
    )
    handled: list[int] = []
    consumer = _run(
        [[eof], [kafka_message(b"a", 6)]],
        lambda msgs: handled.extend(m.offset() or 0 for m in msgs),
    )
    assert handled == [6]
    assert consumer.stored == [{("orders", 0, 7)}]


def test_a_stopped_handler_leaves_its_batch_unstored_for_the_next_owner() -> None:
    def stops(_msgs: Sequence[Message]) -> None:
        raise Stopped

    consumer = _run([[kafka_message(b"a", 0)], [kafka_message(b"b", 1)]], stops)
    assert consumer.stored == []  # and the second batch was never even read
    assert (consumer.commits, consumer.closed) == (1, True)
