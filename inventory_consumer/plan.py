"""Pure batch planning: which orders a batch creates and which it voids. No I/O.

A batch may hold the same OrderPlaced twice (redelivery, re-publication by the order
service's recovery) and an OrderVoided next to the OrderPlaced it voids. A voided order
id is final whatever the order of the two, so a placement voided in the same batch is
not created at all: the void writes its FAILED tombstone instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from flashsale.contracts import OrderPlaced, OrderVoided

__all__ = ["BatchOutcome", "BatchPlan", "plan_batch"]


@dataclass(frozen=True)
class BatchPlan:
    to_create: tuple[OrderPlaced, ...]
    to_void: tuple[OrderVoided, ...]

    def __len__(self) -> int:
        return len(self.to_create) + len(self.to_void)


@dataclass(frozen=True)
class BatchOutcome:
    """What the database did with a plan (duplicates are what it refused to redo)."""

    created: int = 0
    duplicates: int = 0
    rejected: int = 0  # a second live order of one user: FAILED, stock owed back
    voided: int = 0  # CREATED orders turned FAILED, DB stock returned
    tombstones: int = 0  # voided before they were ever created


def plan_batch(events: Iterable[OrderPlaced | OrderVoided]) -> BatchPlan:
    placed: dict[uuid.UUID, OrderPlaced] = {}
    voided: dict[uuid.UUID, OrderVoided] = {}
    for event in events:
        if isinstance(event, OrderVoided):
            voided.setdefault(event.order_id, event)
        else:
            placed.setdefault(event.order_id, event)
    creatable = tuple(p for oid, p in placed.items() if oid not in voided)
    return BatchPlan(to_create=creatable, to_void=tuple(voided.values()))
