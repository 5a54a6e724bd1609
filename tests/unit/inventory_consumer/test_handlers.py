"""Failure routing of the inventory batch handler (inventory_consumer/handlers.py), with a
fake store, a fake DLQ and a fake Redis drift port."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from confluent_kafka import Message
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import IntegrityError, InternalError, OperationalError

from flashsale.consumer_loop import Stopped
from flashsale.contracts import OrderPaid, OrderPlaced, OrderVoided, encode
from flashsale.dlq import DeadLetterFailed
from flashsale.metrics import RecordingMetrics
from inventory_consumer.handlers import InventoryBatchHandler, RetryPolicy
from inventory_consumer.plan import BatchOutcome, BatchPlan
from tests.unit.fakes import FakeDlq, Faults, kafka_message


class DriverError(Exception):
    """What psycopg raises: the SQLSTATE and the diagnostics ride on the exception."""

    def __init__(self, sqlstate: str, constraint: str | None = None) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate
        self.diag = SimpleNamespace(constraint_name=constraint)


def read_only() -> Exception:
    return InternalError("INSERT", {}, DriverError("25006"))  # after a failover


def deadlock() -> Exception:
    return OperationalError("UPDATE sales", {}, DriverError("40P01"))


def out_of_stock() -> Exception:
    check = DriverError("23514", "ck_sales_remaining_stock_nonnegative")
    return IntegrityError("UPDATE sales", {}, check)


class FakeStore:
    """Applies plans in memory; a plan holding a poisoned order id raises its error."""

    def __init__(
        self,
        poison: dict[uuid.UUID, Exception] | None = None,
        outages: int = 0,
        apply_faults: Faults | None = None,
        fail_faults: Faults | None = None,
        journal: list[str] | None = None,
    ) -> None:
        self.created: list[uuid.UUID] = []
        self.failed: list[tuple[uuid.UUID, str]] = []
        self.refused: list[uuid.UUID] = []
        self.calls = 0
        self._poison = poison or {}
        self._apply_faults = apply_faults or Faults(
            *[OperationalError("INSERT", {}, ConnectionRefusedError("db down"))] * outages
        )
        self._fail_faults = fail_faults or Faults()
        self.journal = journal if journal is not None else []

    def apply(self, plan: BatchPlan) -> BatchOutcome:
        self.calls += 1
        self._apply_faults.maybe_raise()
        for order in plan.to_create:
            if order.order_id in self._poison:
                raise self._poison[order.order_id]
        self.created += [o.order_id for o in plan.to_create]
        return BatchOutcome(created=len(plan.to_create))

    def fail_placed(self, placed: OrderPlaced, reason: str) -> None:
        self._fail_faults.maybe_raise()
        self.failed.append((placed.order_id, reason))

    def refuse_oversold(self, placed: OrderPlaced) -> None:
        self._fail_faults.maybe_raise()
        self.journal.append(f"db:{placed.order_id}")
        self.refused.append(placed.order_id)


class FakeDrift:
    """The Redis side of a refused order: written off, never released."""

    def __init__(self, journal: list[str], faults: Faults | None = None) -> None:
        self.journal = journal
        self._faults = faults or Faults()

    def record_drift(self, sale_id: str, order_id: str, user_id: str) -> bool:
        self._faults.maybe_raise()
        self.journal.append(f"redis:{order_id}")
        return True


def _order() -> OrderPlaced:
    return OrderPlaced(
        order_id=uuid.uuid4(),
        sale_id="s1",
        user_id=f"u-{uuid.uuid4().hex[:6]}",
        quantity=1,
        placed_at=datetime.now(UTC),
    )


def _msg(value: bytes, offset: int) -> Message:
    return kafka_message(value, offset, topic="orders", partition=2)


def _handler(
    store: FakeStore,
    dlq: FakeDlq,
    stop: threading.Event | None = None,
    drift: FakeDrift | None = None,
    metrics: RecordingMetrics | None = None,
) -> InventoryBatchHandler:
    return InventoryBatchHandler(
        store, dlq, metrics or RecordingMetrics(), stop or threading.Event(),
        RetryPolicy(max_attempts=3, base_s=0.0001, cap_s=0.001), rand=lambda: 0.0, drift=drift,
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
    assert dlq.offsets() == [5]
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


def test_a_read_only_database_is_retried_past_max_attempts_without_a_split_or_a_letter() -> None:
    orders = [_order() for _ in range(8)]
    store = FakeStore(apply_faults=Faults(*[read_only() for _ in range(40)]))
    dlq = FakeDlq()
    _handler(store, dlq)([_msg(encode(o), i) for i, o in enumerate(orders)])
    assert store.created == [o.order_id for o in orders]
    assert store.calls == 41  # the whole batch each time: an outage is nobody's batch's fault
    assert (dlq.letters, store.failed) == ([], [])


def test_a_lasting_deadlock_may_split_the_batch_but_dead_letters_nothing() -> None:
    orders = [_order() for _ in range(8)]
    store = FakeStore(apply_faults=Faults(*[deadlock() for _ in range(30)]))
    dlq = FakeDlq()
    _handler(store, dlq)([_msg(encode(o), i) for i, o in enumerate(orders)])
    assert sorted(store.created) == sorted(o.order_id for o in orders)
    assert store.calls > 3 + 1  # it did split: a smaller transaction holds fewer locks
    assert (dlq.letters, store.failed) == ([], [])


def test_an_order_the_database_refuses_for_stock_is_written_off_in_redis_then_failed() -> None:
    orders = [_order() for _ in range(4)]
    journal: list[str] = []
    # Every write of the follow-up meets an outage first: it is retried, not dropped.
    store = FakeStore(
        poison={orders[2].order_id: out_of_stock()},
        fail_faults=Faults(read_only(), read_only()),
        journal=journal,
    )
    drift = FakeDrift(journal, Faults(RedisConnectionError("redis down")))
    dlq, metrics = FakeDlq(), RecordingMetrics()
    _handler(store, dlq, drift=drift, metrics=metrics)(
        [_msg(encode(o), i) for i, o in enumerate(orders)]
    )
    refused = orders[2].order_id
    assert sorted(store.created) == sorted(o.order_id for o in orders if o.order_id != refused)
    assert journal == [f"redis:{refused}", f"db:{refused}"]  # Redis first: no unit comes back
    assert store.refused == [refused]
    assert dlq.letters == []  # not poison: Redis drifted
    assert metrics.count("flashsale_inventory_drift_total") == 1


def test_the_dead_letter_follow_up_is_retried_until_the_failed_row_is_written() -> None:
    order = _order()
    store = FakeStore(
        poison={order.order_id: IntegrityError("INSERT", {}, DriverError("23503"))},
        # The FAILED row meets a read-only database, then a bug, then goes through.
        fail_faults=Faults(read_only(), RuntimeError("bug"), RuntimeError("bug")),
    )
    dlq = FakeDlq(Faults(DeadLetterFailed("no ack"), DeadLetterFailed("no ack")))
    _handler(store, dlq)([_msg(encode(order), 3)])
    assert dlq.offsets() == [3]
    assert [oid for oid, _ in store.failed] == [order.order_id]  # the token ends FAILED


def test_an_event_that_does_not_belong_on_the_orders_topic_is_dead_lettered() -> None:
    store, dlq = FakeStore(), FakeDlq()
    void = OrderVoided(
        order_id=uuid.uuid4(), sale_id="s1", user_id="u-1", quantity=1, reason="timeout"
    )
    stray = OrderPaid(order_id=uuid.uuid4(), sale_id="s1", user_id="u-2")
    _handler(store, dlq)([_msg(encode(void), 0), _msg(encode(stray), 1)])
    assert store.calls == 1  # the void is applied: it belongs on the orders topic
    assert [(letter.source_offset, letter.error_type) for letter in dlq.letters] == [
        (1, "ContractError")
    ]


def test_a_batch_is_counted_consumed_sized_timed_and_its_rows_by_status() -> None:
    orders = [_order() for _ in range(4)]
    store = FakeStore(poison={orders[1].order_id: IntegrityError("UPDATE", {}, Exception("x"))})
    metrics = RecordingMetrics()
    batch = [_msg(encode(o), i) for i, o in enumerate(orders)] + [_msg(b"{not json", 9)]
    _handler(store, FakeDlq(), metrics=metrics)(batch)
    assert metrics.count("flashsale_consumed_messages_total", consumer="inventory") == 5
    assert metrics.observations["flashsale_batch_size"] == [5]
    assert metrics.count("flashsale_orders_written_total", status="CREATED") == 3
    assert metrics.count("flashsale_orders_written_total", status="FAILED") == 1  # the poison
    assert metrics.count("flashsale_dlq_messages_total", consumer="inventory") == 2
    # Bisection: 4 (fails), 2 (fails), 1 (ok), 1 (fails), 2 (ok): the commits are timed.
    assert len(metrics.observations["flashsale_db_transaction_seconds"]) == 2
    assert len(metrics.observations["flashsale_inventory_batch_seconds"]) == 1
