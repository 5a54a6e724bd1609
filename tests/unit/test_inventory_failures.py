"""Failure routing of the inventory batch handler, with a fake store and a fake DLQ."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from confluent_kafka import Message
from sqlalchemy.exc import IntegrityError, OperationalError

from flashsale.consumer_loop import Stopped
from flashsale.contracts import OrderPlaced, encode
from flashsale.dlq import DeadLetter
from flashsale.failures import Verdict, route_failure
from flashsale.metrics import RecordingMetrics
from inventory_consumer.batch import InventoryBatchHandler, RetryPolicy
from inventory_consumer.plan import BatchOutcome, BatchPlan


class FakeStore:
    """Applies plans in memory; a plan holding a poisoned order id raises its error."""

    def __init__(self, poison: dict[uuid.UUID, Exception] | None = None, outages: int = 0) -> None:
        self.created: list[uuid.UUID] = []
        self.failed: list[tuple[uuid.UUID, str]] = []
        self.calls = 0
        self._poison = poison or {}
        self._outages = outages

    def apply(self, plan: BatchPlan) -> BatchOutcome:
        self.calls += 1
        if self._outages:
            self._outages -= 1
            raise OperationalError("INSERT", {}, ConnectionRefusedError("db down"))
        for order in plan.to_create:
            if order.order_id in self._poison:
                raise self._poison[order.order_id]
        self.created += [o.order_id for o in plan.to_create]
        return BatchOutcome(created=len(plan.to_create))

    def fail_placed(self, placed: OrderPlaced, reason: str) -> None:
        self.failed.append((placed.order_id, reason))


class FakeDlq:
    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    def send(self, letter: DeadLetter) -> None:
        self.letters.append(letter)


class SqlStateError(Exception):
    sqlstate = "40P01"  # deadlock detected: a server-side, retryable error


def _order() -> OrderPlaced:
    return OrderPlaced(
        order_id=uuid.uuid4(),
        sale_id="s1",
        user_id=f"u-{uuid.uuid4().hex[:6]}",
        quantity=1,
        placed_at=datetime.now(UTC),
    )


def _msg(value: bytes, offset: int) -> Message:
    return Message(topic="orders", partition=2, offset=offset, key=b"k", value=value)


def _handler(
    store: FakeStore, dlq: FakeDlq, stop: threading.Event | None = None
) -> InventoryBatchHandler:
    return InventoryBatchHandler(
        store, dlq, RecordingMetrics(), stop or threading.Event(),
        RetryPolicy(max_attempts=3, base_s=0.0001, cap_s=0.001), rand=lambda: 0.0,
    )  # fmt: skip


def test_an_unparseable_message_goes_to_the_dlq_at_once_and_the_rest_is_applied() -> None:
    store, dlq = FakeStore(), FakeDlq()
    orders = [_order(), _order()]
    batch = [_msg(encode(orders[0]), 10), _msg(b"{not json", 11), _msg(encode(orders[1]), 12)]
    _handler(store, dlq)(batch)
    assert store.created == [o.order_id for o in orders]
    [letter] = dlq.letters
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == ("orders", 2, 11)
    assert letter.value == b"{not json"
    assert letter.error_type == "ContractError"
    assert store.failed == []  # no order id could be read: nothing to tombstone


def test_a_check_violation_bisects_the_batch_and_dead_letters_only_the_offender() -> None:
    orders = [_order() for _ in range(8)]
    poisoned = orders[5].order_id
    store = FakeStore(poison={poisoned: IntegrityError("UPDATE sales", {}, Exception("check"))})
    dlq = FakeDlq()
    _handler(store, dlq)([_msg(encode(o), i) for i, o in enumerate(orders)])
    assert sorted(store.created) == sorted(o.order_id for o in orders if o.order_id != poisoned)
    assert [letter.source_offset for letter in dlq.letters] == [5]
    assert [oid for oid, _ in store.failed] == [poisoned]  # marked FAILED: stock goes back
    assert store.calls <= 1 + 2 * 3 + 2  # bisection: O(log n) levels, not one txn per message


def test_a_db_outage_is_retried_beyond_max_attempts_and_dead_letters_nothing() -> None:
    store, dlq = FakeStore(outages=10), FakeDlq()
    order = _order()
    _handler(store, dlq)([_msg(encode(order), 0)])
    assert store.created == [order.order_id]
    assert dlq.letters == []


def test_a_message_failing_k_times_for_no_known_reason_goes_to_the_dlq() -> None:
    order = _order()
    store = FakeStore(poison={order.order_id: RuntimeError("bug")})
    dlq = FakeDlq()
    _handler(store, dlq)([_msg(encode(order), 7)])
    assert store.calls == 3
    assert [letter.error_type for letter in dlq.letters] == ["RuntimeError"]


def test_stop_during_an_outage_abandons_the_batch_without_dead_lettering() -> None:
    stop = threading.Event()
    stop.set()
    store, dlq = FakeStore(outages=1_000), FakeDlq()
    with pytest.raises(Stopped):
        _handler(store, dlq, stop)([_msg(encode(_order()), 0)])
    assert dlq.letters == []


@pytest.mark.parametrize(
    ("exc", "attempts", "size", "verdict"),
    [
        (OperationalError("x", {}, ConnectionRefusedError()), 99, 1, Verdict.RETRY),
        (OperationalError("x", {}, SqlStateError()), 1, 1, Verdict.RETRY),
        (OperationalError("x", {}, SqlStateError()), 3, 1, Verdict.DEAD_LETTER),
        (OperationalError("x", {}, SqlStateError()), 3, 4, Verdict.BISECT),
        (IntegrityError("x", {}, Exception()), 1, 4, Verdict.BISECT),
        (IntegrityError("x", {}, Exception()), 1, 1, Verdict.DEAD_LETTER),
        (RuntimeError(), 2, 1, Verdict.RETRY),
    ],
)
def test_route_failure(exc: Exception, attempts: int, size: int, verdict: Verdict) -> None:
    assert route_failure(exc, attempts, max_attempts=3, batch_size=size) is verdict
