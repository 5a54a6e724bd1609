"""Failure classification and routing (flashsale/failures.py), table-driven, with fake driver
errors that carry a SQLSTATE the way psycopg's do; and the DLQ sink's full local queue."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import (
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    ProgrammingError,
)

from flashsale.contracts import ContractError
from flashsale.dlq import DeadLetter, DeadLetterFailed, KafkaDeadLetterSink
from flashsale.failures import (
    Failure,
    Verdict,
    classify,
    is_stock_refusal,
    route_failure,
)


class DriverError(Exception):
    """What psycopg raises: the SQLSTATE and the diagnostics ride on the exception."""

    def __init__(self, sqlstate: str | None, constraint: str | None = None) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate
        self.diag = SimpleNamespace(constraint_name=constraint)


def _validation_error() -> ValidationError:
    class Model(BaseModel):
        n: int

    try:
        Model.model_validate({"n": "x"})
    except ValidationError as exc:
        return exc
    raise AssertionError("unreachable")


def db(kind: type[Any], state: str | None, invalidated: bool = False) -> Exception:
    error: Exception = kind("INSERT", {}, DriverError(state), connection_invalidated=invalidated)
    return error


INFRA = Failure.INFRASTRUCTURE
MESSAGE = Failure.MESSAGE
UNKNOWN = Failure.UNKNOWN


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (db(OperationalError, None), INFRA),  # connection refused: no SQLSTATE
        (db(OperationalError, "08006"), INFRA),  # connection failure
        (db(OperationalError, "40P01"), INFRA),  # deadlock
        (db(OperationalError, "40001"), INFRA),  # serialization failure
        (db(OperationalError, "53100"), INFRA),  # disk full
        (db(OperationalError, "53300"), INFRA),  # too many connections
        (db(OperationalError, "57014"), INFRA),  # statement timeout
        (db(OperationalError, "57P01"), INFRA),  # admin shutdown
        (db(OperationalError, "58030"), INFRA),  # I/O error
        (db(OperationalError, "55P03"), INFRA),  # lock timeout
        (db(InternalError, "25006"), INFRA),  # read-only after a failover
        (db(InternalError, "XX000", invalidated=True), INFRA),  # the connection died under it
        (InterfaceError("SELECT", {}, DriverError(None)), INFRA),
        (RedisConnectionError("redis down"), INFRA),
        (DeadLetterFailed("no ack"), INFRA),
        (db(IntegrityError, "23514"), MESSAGE),  # check violation
        (db(IntegrityError, "23503"), MESSAGE),  # foreign key: an unknown sale
        (db(DataError, "22001"), MESSAGE),  # string too long
        (db(InternalError, "22P02"), MESSAGE),  # a class-22 state under another wrapper
        (IntegrityError("x", {}, Exception("check")), MESSAGE),  # no SQLSTATE, still a row's
        (ContractError("bad json"), MESSAGE),
        (_validation_error(), MESSAGE),
        (db(InternalError, "25P02"), UNKNOWN),  # in failed transaction: a bug, not the store
        (db(ProgrammingError, "42P01"), INFRA),  # undefined table: a migration not run
        (db(ProgrammingError, "42703"), INFRA),  # undefined column
        (db(ProgrammingError, "42883"), INFRA),  # undefined function (flashsale_uuid7)
        (db(ProgrammingError, "42501"), INFRA),  # insufficient privilege: a missing grant
        (db(ProgrammingError, "42601"), UNKNOWN),  # a syntax error: a bug
        (db(ProgrammingError, None), UNKNOWN),  # client-side misuse of the driver: a bug
        (db(OperationalError, "55006"), UNKNOWN),  # object in use: not in the rule's list
        (RuntimeError("bug"), UNKNOWN),
    ],
)
def test_classify(exc: Exception, kind: Failure) -> None:
    assert classify(exc) is kind


RETRY, BISECT, DEAD = Verdict.RETRY, Verdict.BISECT, Verdict.DEAD_LETTER


@pytest.mark.parametrize(
    ("exc", "attempts", "size", "verdict"),
    [
        # Infrastructure: a single message is never dead-lettered, whatever the count.
        (db(OperationalError, None), 99, 1, RETRY),
        (db(OperationalError, None), 99, 8, RETRY),  # an outage is nobody's batch's fault
        (db(InternalError, "25006"), 1_000, 1, RETRY),
        (db(InternalError, "25006"), 1_000, 8, RETRY),
        (db(OperationalError, "53100"), 1_000, 8, RETRY),
        (db(OperationalError, "40P01"), 2, 8, RETRY),
        # Contention may split a batch after max_attempts: fewer locks, for less time.
        (db(OperationalError, "40P01"), 3, 8, BISECT),
        (db(OperationalError, "40001"), 3, 8, BISECT),
        (db(OperationalError, "55P03"), 3, 8, BISECT),
        (db(OperationalError, "57014"), 3, 8, BISECT),
        (db(OperationalError, "40P01"), 99, 1, RETRY),
        (db(OperationalError, "55P03"), 99, 1, RETRY),
        # The message's own fault: bisect at once, dead-letter the one pinned.
        (db(IntegrityError, "23514"), 1, 8, BISECT),
        (db(IntegrityError, "23514"), 1, 1, DEAD),
        (db(DataError, "22001"), 1, 1, DEAD),
        (ContractError("x"), 1, 1, DEAD),
        # Unknown (a bug): max_attempts, then bisect, then the DLQ.
        (RuntimeError(), 2, 1, RETRY),
        (RuntimeError(), 3, 8, BISECT),
        (RuntimeError(), 3, 1, DEAD),
        (db(ProgrammingError, "42601"), 3, 1, DEAD),
        # A schema behind the code is waited out, never dead-lettered.
        (db(ProgrammingError, "42883"), 1_000, 1, RETRY),
    ],
)
def test_route_failure(exc: Exception, attempts: int, size: int, verdict: Verdict) -> None:
    assert route_failure(exc, attempts, max_attempts=3, batch_size=size) is verdict


STOCK_CHECK = "ck_sales_remaining_stock_nonnegative"


@pytest.mark.parametrize(
    ("exc", "refusal"),
    [
        (IntegrityError("UPDATE sales", {}, DriverError("23514", STOCK_CHECK)), True),
        (IntegrityError("x", {}, DriverError("23514", "ck_sales_remaining_le_total")), False),
        (IntegrityError("x", {}, DriverError("23505", STOCK_CHECK)), False),  # not a CHECK
        (IntegrityError("x", {}, DriverError("23514", None)), False),
        (IntegrityError("x", {}, Exception("check")), False),  # no SQLSTATE at all
        (DataError("x", {}, DriverError("23514", STOCK_CHECK)), False),
        (RuntimeError(STOCK_CHECK), False),
    ],
)
def test_is_stock_refusal(exc: Exception, refusal: bool) -> None:
    assert is_stock_refusal(exc) is refusal


class FullProducer:
    """A producer whose local queue is full: produce() raises BufferError, as librdkafka's."""

    def __init__(self) -> None:
        self.polls = 0

    def produce(self, *_: Any, **__: Any) -> None:
        raise BufferError("Local: Queue full")

    def poll(self, _timeout: float) -> int:
        self.polls += 1
        return 0

    def flush(self, _timeout: float) -> int:
        return 0


def test_a_full_dlq_producer_queue_fails_the_letter_so_it_is_retried() -> None:
    producer = FullProducer()
    sink = KafkaDeadLetterSink(producer, "dlq", "inventory", timeout_s=0.01)
    letter = DeadLetter(b"k", b"v", "orders", 0, 7, "boom", "RuntimeError")
    with pytest.raises(DeadLetterFailed, match="queue full"):
        sink.send(letter)
    assert producer.polls == 1  # delivery reports served, so the queue drains for the retry
