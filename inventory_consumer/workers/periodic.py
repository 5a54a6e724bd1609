"""Background loops of the consumer process (the outbox relay, the expiry worker).

A round that did work is followed at once by the next (drain a backlog fast); an idle
round waits `interval_s`; a failing round backs off, so a DB outage is not a busy loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flashsale.backoff import backoff_delay

__all__ = ["PeriodicWorker"]

log = logging.getLogger(__name__)


class PeriodicWorker(threading.Thread):
    def __init__(
        self,
        name: str,
        round_: Callable[[], int],
        interval_s: float,
        stop: threading.Event,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._round = round_
        self._interval_s = interval_s
        self._halt = stop
        self._on_exit = on_exit

    def run(self) -> None:
        failures = 0
        try:
            while not self._halt.is_set():
                try:
                    done = self._round()
                    failures = 0
                except Exception as exc:
                    failures += 1
                    log.warning("%s round failed (%d in a row): %r", self.name, failures, exc)
                    self._halt.wait(backoff_delay(failures, self._interval_s, 10.0))
                    continue
                if not done:
                    self._halt.wait(self._interval_s)
        finally:
            if self._on_exit is not None:
                self._on_exit()
