"""Failure routing for the consumers, pure: given what went wrong, retry, split the batch, or
dead-letter.

- An outage (the DB is unreachable) is nobody's message's fault: retry for as long as it
  lasts, with backoff, storing no offset. Dead-lettering here would empty the topic into
  the DLQ during every PostgreSQL restart.
- A permanent error (contract, integrity, bad data) cannot be fixed by a retry: a batch is
  bisected to find the offender, a single message goes to the DLQ at once.
- Anything else (deadlock, timeout, a bug) is retried; after `max_attempts` a batch is
  bisected and a single message goes to the DLQ. No poison message stalls a partition.
"""

from __future__ import annotations

from enum import Enum

from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError

from flashsale.contracts import ContractError

__all__ = ["Verdict", "is_outage", "is_permanent", "route_failure"]


class Verdict(Enum):
    RETRY = "retry"
    BISECT = "bisect"
    DEAD_LETTER = "dead_letter"


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, InterfaceError):
        return True
    # A lost connection carries no SQLSTATE; a server-side error (deadlock, statement
    # timeout) does, and is the statement's problem, not the server's.
    if isinstance(exc, OperationalError):
        return bool(exc.connection_invalidated) or getattr(exc.orig, "sqlstate", None) is None
    return False


def is_permanent(exc: BaseException) -> bool:
    return isinstance(exc, ContractError | ValidationError | IntegrityError | DataError)


def route_failure(exc: BaseException, attempts: int, max_attempts: int, batch_size: int) -> Verdict:
    """`attempts` counts the failures of this batch (or message) so far, this one included."""
    if is_outage(exc):
        return Verdict.RETRY
    if not is_permanent(exc) and attempts < max_attempts:
        return Verdict.RETRY
    return Verdict.BISECT if batch_size > 1 else Verdict.DEAD_LETTER
