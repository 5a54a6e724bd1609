"""Pure batch planning: which orders a batch creates and which it voids. No I/O.

A batch may hold the same OrderPlaced twice (redelivery, re-publication by the order
service's recovery) and an OrderVoided next to the OrderPlaced it voids.

The rule for voids: an order whose OrderPlaced reached Kafka stands. The order service
voids an order when its produce was not acknowledged, but an unacknowledged message may
still have landed; if it did, it sits before its void in the same partition (both are
keyed by user), so every consumer meets the placement first. The placement is created
and the void loses (the store reinstates the order); a void only ever stops a placement
that never landed, by writing its FAILED tombstone. The outcome depends on the log
alone, never on how messages fall into batches, nor on whether the order was paid or
its confirmation sent in between.
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
    reinstated: int = 0  # voids that lost: their placement had landed, the order stands
    tombstones: int = 0  # voids of placements that never landed: FAILED, stock owed back


def plan_batch(events: Iterable[OrderPlaced | OrderVoided]) -> BatchPlan:
    placed: dict[uuid.UUID, OrderPlaced] = {}
    voided: dict[uuid.UUID, OrderVoided] = {}
    for event in events:
        if isinstance(event, OrderVoided):
            voided.setdefault(event.order_id, event)
        else:
            placed.setdefault(event.order_id, event)
    return BatchPlan(to_create=tuple(placed.values()), to_void=tuple(voided.values()))
