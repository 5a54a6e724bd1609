"""Sold out is cheapest at the edge: the gateway remembers a sale's sold-out answer (a
409 sold_out from the order service) for a short TTL and gives it itself."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["SoldOutCache"]


class SoldOutCache:
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._until: dict[str, float] = {}

    def is_sold_out(self, sale_id: str) -> bool:
        until = self._until.get(sale_id)
        if until is None:
            return False
        now = self._clock()
        if now < until:
            return True
        # Expired: this caller goes to ask (and marks or clears with the answer); the
        # others keep the cheap answer meanwhile, instead of all asking at once.
        self._until[sale_id] = now + self._ttl_s
        return False

    def clear(self, sale_id: str) -> None:
        self._until.pop(sale_id, None)

    def mark(self, sale_id: str) -> None:
        self._until[sale_id] = self._clock() + self._ttl_s
