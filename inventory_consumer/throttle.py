"""A token bucket capping the orders per second written to PostgreSQL. Pure: the clock is
injected and `reserve` returns how long to wait instead of sleeping.

`reserve(n)` may drive the bucket into debt (a batch larger than the burst): the caller
waits until the debt is paid. Over any long window the rate is then exactly `rate`,
plus at most one burst at the very start.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["WriteThrottle"]


class WriteThrottle:
    def __init__(
        self, rate: float, burst: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive; use no bucket for unthrottled")
        self.rate = rate
        # 100 ms worth of tokens: small enough that writes stay smooth within a second.
        self.burst = burst if burst is not None else max(1, int(rate / 10))
        self._clock = clock
        self._tokens = float(self.burst)
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        self._last = now

    def reserve(self, n: int) -> float:
        """Take `n` tokens now; return the seconds to wait before using them."""
        self._refill()
        self._tokens -= n
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate
