"""When to add or remove a worker: a pure function of the lag, the worker count, the
partition count and the clock. No I/O, so every rule below is unit-tested with a fake clock.

The rules:
- the pool stays between `min_workers` and `max_workers`, and never above the topic's
  partition count (a worker beyond it would own no partition and do nothing);
- lag above `scale_up_lag`: up, straight to ceil(lag / scale_up_lag) workers (at least one
  more), as KEDA reads its `lagThreshold`: each worker is sized for that much backlog. A
  flash-sale burst builds its backlog in seconds; one worker per cooldown would lag behind;
- lag below `scale_down_lag`: down, ONE worker at a time. Each leaver makes the group
  rebalance and the backlog may come back (the next burst): shrinking slowly is cheap;
- between the two thresholds: hold. The gap between them is the hysteresis band (the
  thresholds must differ), and after every change the pool holds for `cooldown_s` whatever
  the lag says, so the new workers' effect shows up in the lag before the next decision.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Decision", "ScalingPolicy"]

Direction = Literal["up", "down", "hold"]


@dataclass(frozen=True)
class Decision:
    workers: int  # how many workers the pool should run now
    direction: Direction
    reason: str  # one sentence for the log line


@dataclass
class ScalingPolicy:
    min_workers: int = 1
    max_workers: int = 4
    scale_up_lag: int = 10_000
    scale_down_lag: int = 1_000
    cooldown_s: float = 15.0
    clock: Callable[[], float] = time.monotonic
    _changed_at: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if not 1 <= self.min_workers <= self.max_workers:
            raise ValueError("need 1 <= min_workers <= max_workers")
        if not 0 <= self.scale_down_lag < self.scale_up_lag:
            raise ValueError("need 0 <= scale_down_lag < scale_up_lag (the hysteresis band)")
        if self.cooldown_s < 0:
            raise ValueError("cooldown_s must not be negative")

    def capacity(self, partitions: int) -> int:
        """The most workers that can all own a partition: max_workers, capped by the topic."""
        return max(self.min_workers, min(self.max_workers, partitions))

    def decide(self, workers: int, lag: int | None, partitions: int) -> Decision:
        """What to do with `workers` running, `lag` messages behind (None: unknown) on a
        topic of `partitions` partitions. A change starts the cooldown."""
        decision = self._rule(workers, lag, self.capacity(partitions))
        if decision.direction != "hold":
            self._changed_at = self.clock()
        return decision

    def _rule(self, workers: int, lag: int | None, capacity: int) -> Decision:
        if workers < self.min_workers:
            return Decision(self.min_workers, "up", f"below min_workers={self.min_workers}")
        if workers > capacity:
            return Decision(capacity, "down", f"above the capacity of {capacity} workers")
        if lag is None:
            return Decision(workers, "hold", "lag unknown")
        if self._cooling_down():
            return Decision(workers, "hold", f"cooling down (lag {lag})")
        if lag > self.scale_up_lag and workers < capacity:
            wanted = max(workers + 1, math.ceil(lag / self.scale_up_lag))
            target = min(wanted, capacity)
            return Decision(target, "up", f"lag {lag} > {self.scale_up_lag}")
        if lag < self.scale_down_lag and workers > self.min_workers:
            return Decision(workers - 1, "down", f"lag {lag} < {self.scale_down_lag}")
        return Decision(workers, "hold", f"lag {lag} within bounds")

    def _cooling_down(self) -> bool:
        return self._changed_at is not None and self.clock() - self._changed_at < self.cooldown_s
