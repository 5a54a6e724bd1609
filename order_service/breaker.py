"""A circuit breaker around Kafka, so an outage costs one delivery timeout, not one per buyer.

Closed: requests produce as usual. After a failed produce it opens: requests answer 503 at
once (no Redis, no Kafka) until the cooldown passed; then exactly one request (or the
recovery loop) probes. A success closes it, a failure opens it again. Pure: the clock is
injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["KafkaBreaker"]


class KafkaBreaker:
    def __init__(self, cooldown_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._open_until: float | None = None  # None: closed

    @property
    def is_open(self) -> bool:
        return self._open_until is not None

    def allow(self) -> bool:
        """May this request try Kafka? When the cooldown is over the caller becomes the
        probe, and the window moves on so the requests after it still fail fast."""
        if self._open_until is None:
            return True
        now = self._clock()
        if now < self._open_until:
            return False
        self._open_until = now + self._cooldown_s
        return True

    def succeeded(self) -> None:
        self._open_until = None

    def failed(self) -> None:
        self._open_until = self._clock() + self._cooldown_s
