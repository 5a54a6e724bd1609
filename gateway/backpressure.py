"""Backpressure (the seed's glossary: when the consumers cannot keep up, the producers slow
down): the consumers' lag lowers the gateway's global rate and, once drained, restores it.

Two water marks give hysteresis: above `high` the rate is multiplied by `factor`, below
`low` it is restored, and in between nothing changes, so a lag hovering around one mark
does not flap the rate every second. An unknown lag (the supervisor's key missing or
expired, Redis down) changes nothing either: the gateway neither slows down on a guess
nor lets a burst through because a reading failed. `Backpressure` decides and is pure;
`watch_lag` is the loop the app's lifespan runs, reading the lag through its port.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from flashsale.cancellation import raise_if_cancelled
from gateway.bucket import GcraBucket, Rate
from gateway.ports import LagReader, LagUnavailable

__all__ = ["Backpressure", "WaterMarks", "watch_lag"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WaterMarks:
    high: int  # lag above which the rate is lowered
    low: int  # lag below which it is restored
    factor: float  # the lowered rate is the normal one times this

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high or not 0 < self.factor <= 1:
            raise ValueError("water marks need 0 <= low <= high and 0 < factor <= 1")


class Backpressure:
    """Lowers and restores a bucket's rate as the lag crosses the water marks."""

    def __init__(self, bucket: GcraBucket, marks: WaterMarks) -> None:
        self._bucket = bucket
        self._marks = marks
        self._normal = bucket.rate
        self._lowered = Rate(self._normal.per_second * marks.factor, self._normal.burst)
        self.engaged = False
        self._unknown = False  # the lag was unknown at the last reading (logged once)

    def observe(self, lag: int | None, why: str = "no lag published") -> None:
        """One reading of the lag; None: unknown (`why`), the rate stays as it is."""
        if lag is None:
            if not self._unknown:
                state = "lowered" if self.engaged else "normal"
                log.warning("lag unknown (%s): the global rate stays %s", why, state)
            self._unknown = True
            return
        if self._unknown:
            log.info("lag known again: %d", lag)
            self._unknown = False
        if not self.engaged and lag > self._marks.high:
            self._switch(self._lowered, lag, "on", f"> {self._marks.high}")
        elif self.engaged and lag < self._marks.low:
            self._switch(self._normal, lag, "off", f"< {self._marks.low}")

    def _switch(self, rate: Rate, lag: int, state: str, crossed: str) -> None:
        before = self._bucket.rate.per_second
        self._bucket.set_rate(rate)
        self.engaged = state == "on"
        log.warning(
            "backpressure %s: lag %d %s, global rate %g -> %g/s",
            state,
            lag,
            crossed,
            before,
            rate.per_second,
        )


async def watch_lag(reader: LagReader, backpressure: Backpressure, poll_s: float) -> None:
    """Read the lag every `poll_s` seconds and let `backpressure` decide; until cancelled."""
    while True:
        raise_if_cancelled()  # Python 3.11 may have lost it: see flashsale.cancellation
        try:
            backpressure.observe(await reader.read())
        except LagUnavailable as exc:
            backpressure.observe(None, str(exc))
        except Exception as exc:  # never let a surprise end the loop: the rate would freeze
            raise_if_cancelled()
            backpressure.observe(None, repr(exc))
        await asyncio.sleep(poll_s)
