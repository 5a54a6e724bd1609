"""The recovery loop: what a crash or a Kafka outage left half-done in Redis.

- A pending reservation older than `recovery_after_s` was never acknowledged: the
  request that made it died (a crash between the script and the ack). Its OrderPlaced is
  published again, the same event id; the consumers are idempotent. Its client learns the
  order id on retry, from the already_purchased answer.
- A void not yet acknowledged (Kafka was down) is published again. Its stock returns
  once the inventory consumer applied it (see redelivery.py).
- Every `prune_every` rounds, sales that ended more than `prune_after_s` ago with
  nothing left to publish leave the scanned set, so a round costs what the live sales
  cost, not every sale ever created.

Several replicas may run it at once: every step is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from flashsale.cancellation import raise_if_cancelled
from flashsale.contracts import OrderPlaced
from order_service.breaker import KafkaBreaker
from order_service.ports import Due, OrderPublisher, Reservations
from order_service.redelivery import publish_due, settle_void

__all__ = ["Recovery", "RecoveryRound"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecoveryRound:
    republished: int
    voided: int
    pruned: int = 0


class Recovery:
    def __init__(
        self,
        reservations: Reservations,
        publisher: OrderPublisher,
        breaker: KafkaBreaker,
        after_s: float,
        batch: int,
        clock: Callable[[], float] = time.time,
        prune_after_s: float = 3600.0,
        prune_every: int = 30,
        on_pruned: Callable[[str], None] = lambda _sale_id: None,
    ) -> None:
        self._reservations = reservations
        self._publisher = publisher
        self._breaker = breaker
        self._after_ms = int(after_s * 1000)
        self._batch = batch
        self._clock = clock
        self._prune_after_ms = int(prune_after_s * 1000)
        self._prune_every = prune_every
        self._rounds = 0
        self._on_pruned = on_pruned  # the sale's stock gauge goes with it

    async def run_once(self) -> RecoveryRound:
        voids = await self._reservations.due_voids(self._batch)
        settled = await asyncio.gather(
            *(settle_void(d, self._publisher, self._reservations, self._breaker) for d in voids)
        )
        cutoff_ms = int(self._clock() * 1000) - self._after_ms
        pending = await self._reservations.due_pending(cutoff_ms, self._batch)
        republished = await asyncio.gather(*(self._republish(d) for d in pending))
        pruned = await self._prune()
        return RecoveryRound(sum(republished), sum(settled), len(pruned))

    async def _prune(self) -> list[str]:
        """After this round's publishing, so a pruned sale had nothing left to publish.
        Only every `prune_every` rounds (the first included): it reads every sale."""
        self._rounds += 1
        if (self._rounds - 1) % self._prune_every:
            return []
        cutoff_ms = int(self._clock() * 1000) - self._prune_after_ms
        pruned = await self._reservations.prune_ended(cutoff_ms)
        for sale_id in pruned:
            self._on_pruned(sale_id)
        return pruned

    async def _republish(self, due: Due) -> bool:
        if not await publish_due(due, OrderPlaced, self._publisher, self._breaker):
            return False
        await self._reservations.acknowledged(due.sale_id, due.order_id)
        return True

    async def run_forever(self, interval_s: float) -> None:
        while True:
            raise_if_cancelled()  # Python 3.11 may have lost it: see flashsale.cancellation
            await asyncio.sleep(interval_s)
            try:
                done = await self.run_once()
            except Exception:  # a Redis blip must not end the loop: try next round
                raise_if_cancelled()
                log.exception("recovery round failed")
                continue
            if done.republished or done.voided or done.pruned:
                log.info(
                    "recovery: %d re-published, %d voided, %d ended sales pruned",
                    done.republished,
                    done.voided,
                    done.pruned,
                )
