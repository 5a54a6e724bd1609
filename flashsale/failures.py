"""Failure routing for the consumers, pure: given what went wrong, retry, split the batch, or
dead-letter.

Every order on the orders topic already got a 202, so only a fault of the message itself
may end it in the DLQ. Three kinds of failure:

- Infrastructure: a store misbehaves (down, read-only after a failover, disk full, a lock
  or statement timeout, a deadlock, a schema behind the code). Nobody's message is at
  fault: retry with backoff for as long as it lasts, storing no offset. A batch that
  keeps losing to contention (a timeout, a lock, a deadlock) may be split, since a
  smaller transaction holds fewer locks for less time, but a single message is never
  dead-lettered for it.
- The message: a broken contract, bad data (SQLSTATE class 22), a constraint (class 23).
  No retry can fix it: a batch is bisected to find the offender, which is dead-lettered.
- Anything else is presumably a bug: retried `max_attempts` times, then bisected, and a
  single message is dead-lettered. Its follow-up still ends the token FAILED with its
  stock released, so no client waits forever on a poison message.
"""

from __future__ import annotations

from enum import Enum

from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError as RedisReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    NotSupportedError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from flashsale.contracts import ContractError
from flashsale.dlq import DeadLetterFailed

__all__ = [
    "Failure",
    "Verdict",
    "classify",
    "is_contention",
    "is_infrastructure",
    "is_message_error",
    "is_stock_refusal",
    "route_failure",
    "sqlstate",
]

# SQLSTATE classes of a server that cannot do its job right now: connection (08),
# transaction rollback (40: deadlock, serialization), insufficient resources (53),
# operator intervention (57: shutdown, statement timeout), system error (58: I/O).
INFRASTRUCTURE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
# read_only_sql_transaction (a failover to a replica), lock_not_available (lock_timeout).
# And a database behind the code or a role without its grant: an undefined table, column
# or function (a migration not yet run in a rolling deploy), insufficient privilege. The
# operator fixes those; no message is at fault, every one would fail alike, and failing
# them would end every admitted order FAILED instead of waiting for the fix.
INFRASTRUCTURE_STATES = frozenset({"25006", "55P03", "42P01", "42703", "42883", "42501"})
# Contention: statement timeout, lock timeout, deadlock, serialization failure.
CONTENTION_STATES = frozenset({"57014", "55P03", "40P01", "40001"})
MESSAGE_CLASSES = frozenset({"22", "23"})  # data exception, integrity constraint violation

STOCK_CHECK = "ck_sales_remaining_stock_nonnegative"
CHECK_VIOLATION = "23514"

_STORE_DOWN = (
    InterfaceError,
    DisconnectionError,
    PoolTimeoutError,
    DeadLetterFailed,
    RedisConnectionError,
    RedisTimeoutError,
    RedisReadOnlyError,
)


_STATEMENT_AT_FAULT = (ProgrammingError, NotSupportedError, IntegrityError, DataError)


class Failure(Enum):
    INFRASTRUCTURE = "infrastructure"
    MESSAGE = "message"
    UNKNOWN = "unknown"


class Verdict(Enum):
    RETRY = "retry"
    BISECT = "bisect"
    DEAD_LETTER = "dead_letter"


def _driver_error(exc: BaseException) -> BaseException:
    """SQLAlchemy wraps the driver's exception; psycopg's carries the SQLSTATE."""
    return exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc


def sqlstate(exc: BaseException) -> str | None:
    state = getattr(_driver_error(exc), "sqlstate", None)
    return state if isinstance(state, str) and state else None


def is_infrastructure(exc: BaseException) -> bool:
    if isinstance(exc, _STORE_DOWN):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    state = sqlstate(exc)
    if exc.connection_invalidated:
        return True
    if state is None:
        # A lost connection carries no SQLSTATE. An error whose very type blames the
        # statement (a client-side ProgrammingError, a constraint) is no outage, SQLSTATE
        # or not: retrying it forever would stall the partition.
        return not isinstance(exc, _STATEMENT_AT_FAULT)
    return state in INFRASTRUCTURE_STATES or state[:2] in INFRASTRUCTURE_CLASSES


def is_message_error(exc: BaseException) -> bool:
    if isinstance(exc, ContractError | ValidationError | IntegrityError | DataError):
        return True
    state = sqlstate(exc)
    return state is not None and state[:2] in MESSAGE_CLASSES


def classify(exc: BaseException) -> Failure:
    if is_infrastructure(exc):  # first: an outage mid-statement is never the message's fault
        return Failure.INFRASTRUCTURE
    if is_message_error(exc):
        return Failure.MESSAGE
    return Failure.UNKNOWN


def is_contention(exc: BaseException) -> bool:
    return sqlstate(exc) in CONTENTION_STATES


def is_stock_refusal(exc: BaseException) -> bool:
    """PostgreSQL refused an order for lack of stock: Redis sold a unit the DB does not have."""
    if not isinstance(exc, IntegrityError) or sqlstate(exc) != CHECK_VIOLATION:
        return False
    diag = getattr(_driver_error(exc), "diag", None)
    return getattr(diag, "constraint_name", None) == STOCK_CHECK


def route_failure(exc: BaseException, attempts: int, max_attempts: int, batch_size: int) -> Verdict:
    """`attempts` counts the failures of this batch (or message) so far, this one included."""
    kind = classify(exc)
    if kind is Failure.INFRASTRUCTURE:
        if batch_size > 1 and attempts >= max_attempts and is_contention(exc):
            return Verdict.BISECT
        return Verdict.RETRY
    if kind is Failure.UNKNOWN and attempts < max_attempts:
        return Verdict.RETRY
    return Verdict.BISECT if batch_size > 1 else Verdict.DEAD_LETTER
