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
        if self._clock() < until:
            return True
        del self._until[sale_id]
        return False

    def mark(self, sale_id: str) -> None:
        self._until[sale_id] = self._clock() + self._ttl_s
