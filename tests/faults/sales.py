"""Which sales the load buys from: a few at a time, the next one opening as one sells out,
so a long run keeps admitting orders (and keeps selling out, the oversell case)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from tests.faults.stack import FaultStack


@dataclass
class SaleRotation:
    stock: dict[str, int]  # every sale of the run, in opening order, with its stock
    active: int = 3
    _open: list[str] = field(default_factory=list)
    _waiting: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    exhausted_at: float | None = None  # time.monotonic() when the last sale sold out

    def __post_init__(self) -> None:
        sales = list(self.stock)
        self._open, self._waiting = sales[: self.active], sales[self.active :]

    @classmethod
    def create(cls, stack: FaultStack, sales: int, stock: int, active: int = 3) -> SaleRotation:
        return cls({stack.create_sale(stock): stock for _ in range(sales)}, active)

    def pick(self, rng: random.Random) -> str:
        with self._lock:
            # All sold out: the buyers keep trying the last one (and get their 409s).
            return rng.choice(self._open) if self._open else next(reversed(self.stock))

    def sold_out(self, sale: str) -> None:
        with self._lock:
            if sale in self._open:
                self._open.remove(sale)
                if self._waiting:
                    self._open.append(self._waiting.pop(0))
                elif not self._open:
                    self.exhausted_at = time.monotonic()
