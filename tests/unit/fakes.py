"""Fakes both consumers' unit tests share (no mock.patch): scripted faults, an in-memory
DLQ, and confluent-kafka records built by hand."""

from __future__ import annotations

from confluent_kafka import Message

from flashsale.dlq import DeadLetter


class Faults:
    """The next errors an operation raises, one per call, before it starts to succeed."""

    def __init__(self, *errors: Exception) -> None:
        self._errors = list(errors)

    def maybe_raise(self) -> None:
        if self._errors:
            raise self._errors.pop(0)


class FakeDlq:
    """The DLQ as a list; `faults` are the errors its next sends raise (no broker ack)."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.letters: list[DeadLetter] = []
        self._faults = faults or Faults()

    def send(self, letter: DeadLetter) -> None:
        self._faults.maybe_raise()
        self.letters.append(letter)

    def offsets(self) -> list[int]:
        """The source offsets of the dead letters, in the order they were sent."""
        return [letter.source_offset for letter in self.letters]


def kafka_message(
    value: bytes | None,
    offset: int,
    topic: str = "orders",
    partition: int = 0,
    key: bytes | None = b"k",
) -> Message:
    """A consumed record, as `Consumer.consume()` returns it."""
    return Message(topic=topic, partition=partition, offset=offset, key=key, value=value)
