"""The inventory consumer's batch handler: decode, throttle, apply the batch in one DB
transaction. What fails is routed by the kernel (flashsale/retry.py, flashsale/failures.py).

It returns only when every message of the batch is applied, refused for lack of stock, or
dead-lettered: the poll loop then stores the offsets. It raises `Stopped` when asked to
stop mid-way, and the unfinished batch is redelivered (idempotently) to the next owner.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from confluent_kafka import Message

from flashsale.consumer_loop import BatchCounts
from flashsale.contracts import ContractError, OrderPlaced, OrderVoided, decode_event
from flashsale.failures import is_stock_refusal
from flashsale.metrics import Metrics, bind
from flashsale.retry import DeadLetters, Retrier, RetryPolicy
from inventory_consumer.plan import plan_batch
from inventory_consumer.ports import BatchStore, DeadLetterSink, StockDrift
from inventory_consumer.throttle import WriteThrottle

__all__ = ["InventoryBatchHandler", "RetryPolicy", "decode_order_message"]

log = logging.getLogger(__name__)
Item = tuple[Message, OrderPlaced | OrderVoided]


def decode_order_message(msg: Message) -> OrderPlaced | OrderVoided:
    event = decode_event(msg.value())
    if not isinstance(event, OrderPlaced | OrderVoided):
        raise ContractError(f"{event.type} does not belong on the orders topic")
    return event


CONSUMER = "inventory"  # the `consumer` label of the families both consumers export


class InventoryMetrics:
    """The handler's metric families, their labels bound once."""

    def __init__(self, metrics: Metrics) -> None:
        self.batches = BatchCounts(metrics, CONSUMER)
        self.batch_seconds = bind(metrics, "flashsale_inventory_batch_seconds")
        self.transaction_seconds = bind(
            metrics, "flashsale_db_transaction_seconds", consumer=CONSUMER
        )
        self.created = bind(metrics, "flashsale_orders_written_total", status="CREATED")
        self.failed = bind(metrics, "flashsale_orders_written_total", status="FAILED")
        self.drift = bind(metrics, "flashsale_inventory_drift_total")


class InventoryBatchHandler:
    def __init__(
        self,
        store: BatchStore,
        dlq: DeadLetterSink,
        metrics: Metrics,
        stop: threading.Event,
        policy: RetryPolicy,
        throttle: WriteThrottle | None = None,
        rand: Callable[[], float] | None = None,
        drift: StockDrift | None = None,
    ) -> None:
        self._store = store
        self._throttle = throttle
        self._drift = drift
        self._retry = Retrier(policy, stop, rand, what="inventory batch")
        self._dead_letters = DeadLetters(dlq, self._retry, metrics, consumer=CONSUMER)
        self._metrics = InventoryMetrics(metrics)

    def __call__(self, messages: Sequence[Message]) -> None:
        items = self._dead_letters.decode(messages, decode_order_message)
        if self._throttle is not None and items:
            self._retry.sleep(self._throttle.reserve(len(items)))
        started = time.monotonic()
        self._retry.settle(items, self._apply, self._reject)
        self._metrics.batch_seconds.observe(time.monotonic() - started)
        self._metrics.batches.handled(len(messages))

    def _apply(self, items: Sequence[Item]) -> None:
        plan = plan_batch(event for _, event in items)
        started = time.perf_counter()
        outcome = self._store.apply(plan)  # one transaction
        self._metrics.transaction_seconds.observe(time.perf_counter() - started)
        self._metrics.created.inc(outcome.created)
        self._metrics.failed.inc(outcome.rejected + outcome.tombstones)

    def _reject(self, item: Item, exc: Exception) -> None:
        """Bisection pinned this one message: the database refuses it for good. (Without a
        StockDrift port, a stock refusal is dead-lettered like any other.)"""
        msg, event = item
        drift = self._drift
        if drift is not None and isinstance(event, OrderPlaced) and is_stock_refusal(exc):
            self._refuse_oversold(drift, event)
        else:
            self._dead_letter(msg, event, exc)

    def _refuse_oversold(self, drift: StockDrift, placed: OrderPlaced) -> None:
        """Redis sold a unit PostgreSQL does not have. Not poison: Redis drifted. Redis first,
        so that the relay's release of the FAILED row finds the unit already written off
        and never puts it back on sale."""
        ids = (placed.sale_id, str(placed.order_id), placed.user_id)
        log.warning("stock drift: PostgreSQL has no stock for order %s of sale %s", ids[1], ids[0])
        self._metrics.drift.inc()
        self._retry.until_done(lambda: drift.record_drift(*ids), "recording drift in Redis")
        self._retry.until_done(lambda: self._store.refuse_oversold(placed), "refusing the order")
        self._metrics.failed.inc()  # at most: a redelivery finds the row already written

    def _dead_letter(self, msg: Message, event: OrderPlaced | OrderVoided, exc: Exception) -> None:
        self._dead_letters.send(msg, exc)
        if isinstance(event, OrderPlaced):
            # The client holds this order id: it ends FAILED, and its OrderFailed outbox
            # row makes the relay give the Redis stock back (idempotently, per order id).
            # Retried until it is written: an offset moving past it would lose the order.
            reason = f"dead-lettered: {type(exc).__name__}"
            self._retry.until_done(
                lambda: self._store.fail_placed(event, reason), "the dead letter's FAILED row"
            )
            self._metrics.failed.inc()
