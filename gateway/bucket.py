"""Token buckets as GCRA (the generic cell rate algorithm): one float per bucket.

A bucket of `rate` tokens a second holding at most `burst` is fully described by its
theoretical arrival time `tat`: the moment it would be full again. A request at `now` is
admitted when `tat - now <= (burst - 1) / rate`, and then moves `tat` on by `1 / rate`.
No timers, no refill loop, and a per-client table is a dict of floats. Pure: the caller
passes the clock reading, so the unit tests use a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["GcraBucket", "KeyedBuckets", "Rate", "take"]


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("a rate needs per_second > 0 and burst >= 1")

    @classmethod
    def share(cls, per_second: float, burst: int, workers: int) -> Rate:
        """One worker's share of a rate split over `workers` processes: together they
        never admit more than the whole (the burst rounds down, to 1 at least)."""
        return cls(per_second / workers, max(1, burst // workers))

    @property
    def interval(self) -> float:
        return 1.0 / self.per_second

    @property
    def tolerance(self) -> float:
        return (self.burst - 1) * self.interval


def take(tat: float, now: float, rate: Rate) -> tuple[float, float]:
    """One request against a bucket: (the new tat, seconds to wait; 0.0 when admitted)."""
    tat = max(tat, now)
    wait = tat - now - rate.tolerance
    if wait > 0:
        return tat, wait
    return tat + rate.interval, 0.0


class GcraBucket:
    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._clock = clock
        self._tat = 0.0

    @property
    def rate(self) -> Rate:
        return self._rate

    def take(self) -> float:
        self._tat, wait = take(self._tat, self._clock(), self._rate)
        return wait

    def tokens(self) -> float:
        """Requests the bucket would admit now, at once (for the gauge; not per request)."""
        debt = max(0.0, self._tat - self._clock())  # seconds until the bucket is full
        return max(0.0, self._rate.burst - debt * self._rate.per_second)

    def set_rate(self, rate: Rate) -> None:
        """Refill at `rate` from now on, keeping the tokens already spent: the debt in
        tokens is carried over, so a change of rate neither refills nor empties the bucket."""
        now = self._clock()
        spent = max(0.0, self._tat - now) * self._rate.per_second
        self._rate = rate
        self._tat = now + spent / rate.per_second if spent else self._tat


class KeyedBuckets:
    """A bucket per client key, in a dict bounded by `max_keys`.

    A key whose tat is in the past is a full bucket, the same as no entry: when the
    dict is full those are swept. If every key is still busy (a flood of distinct
    addresses), the table is cleared: the global bucket still caps the total.
    """

    def __init__(
        self, rate: Rate, max_keys: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._max_keys = max_keys
        self._clock = clock
        self._tats: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._tats)

    def take(self, key: str) -> float:
        now = self._clock()
        tats = self._tats
        tat, wait = take(tats.get(key, now), now, self._rate)
        if wait == 0.0:
            if key not in tats and len(tats) >= self._max_keys:
                self._sweep(now)
            self._tats[key] = tat
        return wait

    def _sweep(self, now: float) -> None:
        self._tats = {k: t for k, t in self._tats.items() if t > now}
        if len(self._tats) >= self._max_keys:
            self._tats.clear()
