"""Counters into rates: what a counter gained between two readings, per second, and in
total since the dashboard started. Pure: the sampler hands in (time, values) readings.

A counter that went down was reset (its process restarted, its topic was recreated), so
it gained its whole new value, as Prometheus' `increase()` assumes. A series first seen
from a source that was already being read was born since the last reading (a Prometheus
child appears on its first increment), so it gained all of its value; a series seen in
the very first reading of its source has no known start and gains nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["Point", "RateMeter", "Rates", "increase", "per_second"]

# A series' name is "<source>:<series>", e.g. "gateway:rate_limited" or "kafka:produced".
SEPARATOR = ":"


@dataclass(frozen=True)
class Point:
    at: float  # seconds, monotonic
    value: float


def increase(previous: float, current: float) -> float:
    """What a counter gained from `previous` to `current`, a reset counted as from zero."""
    return current - previous if current >= previous else current


def per_second(previous: Point, current: Point) -> float:
    elapsed = current.at - previous.at
    if elapsed <= 0:
        return 0.0
    return increase(previous.value, current.value) / elapsed


@dataclass(frozen=True)
class Rates:
    """One reading's outcome: each series' rate (absent: no rate yet) and running total."""

    per_second: dict[str, float]
    since_start: dict[str, float]


@dataclass
class RateMeter:
    last: dict[str, Point] = field(default_factory=dict)
    since_start: dict[str, float] = field(default_factory=dict)
    source_read_at: dict[str, float] = field(default_factory=dict)

    def update(self, at: float, values: Mapping[str, float], sources: Iterable[str]) -> Rates:
        """Feed one reading: `sources`, the sources read this time (one with no series
        yet included), and their series' values. An unreachable source's series are
        absent and keep their last point for the next reading."""
        rates: dict[str, float] = {}
        for name, value in values.items():
            current = Point(at, value)
            previous = self.last.get(name) or self._birth(name)
            if previous is not None:
                rates[name] = per_second(previous, current)
                gained = increase(previous.value, value)
                self.since_start[name] = self.since_start.get(name, 0.0) + gained
            else:
                self.since_start.setdefault(name, 0.0)
            self.last[name] = current
        self.source_read_at.update(dict.fromkeys(sources, at))
        return Rates(rates, dict(self.since_start))

    def _birth(self, name: str) -> Point | None:
        """A new series of a source read before started at zero since that read; a
        series in its source's first reading has no known start."""
        read_at = self.source_read_at.get(source_of(name))
        return None if read_at is None else Point(read_at, 0.0)


def source_of(name: str) -> str:
    return name.split(SEPARATOR, 1)[0]
