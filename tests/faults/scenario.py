"""The two shapes of a fault test: a fault during a burst (admission under fire), and a
fault during a drain (fulfilment under fire: the burst is over, the lag is being written)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tests.faults.audit import Audit, audit, lag
from tests.faults.load import Load, LoadResult
from tests.faults.record import FaultRecord, write_record
from tests.faults.sales import SaleRotation
from tests.faults.stack import FaultStack
from tests.polling import eventually

# Seconds the pipeline gets to drain after a fault before the audit calls it a loss.
DRAIN_S = 120.0
# The pool's write cap during a drain fault: slow enough that the drain lasts a while.
DRAIN_RATE = "300"

Fault = Callable[[], tuple[float, float]]  # injects; returns (start, end), time.monotonic()


@dataclass
class Outcome:
    load: LoadResult
    audit: Audit
    record: FaultRecord
    fault_window: tuple[float, float]


def during_burst(
    stack: FaultStack,
    test: str,
    fault_name: str,
    fault: Fault,
    *,
    rate: float = 150,
    sales: int = 12,
    stock: int = 700,
    lead_s: float = 2,
    tail_s: float = 4,
) -> Outcome:
    rotation = SaleRotation.create(stack, sales, stock)
    load = Load(stack.gateway_url, rotation, rate).start()
    time.sleep(lead_s)
    try:
        window = fault()
    finally:  # the load stops even when the fault fails
        time.sleep(tail_s)
        result = load.stop()
    checked = audit(stack, result, rotation.stock, DRAIN_S)
    recovery = result.first_202_after(window[1])
    seen = _window(result, (window[0], min(window[1], rotation.exhausted_at or window[1])))
    record = write_record(test, fault_name, result, checked, recovery, **seen)
    return Outcome(result, checked, record, window)


def during_drain(
    stack: FaultStack,
    test: str,
    fault_name: str,
    fault: Fault,
    *,
    attempts_s: float = 7,
    rate: float = 250,
    sales: int = 3,
    stock: int = 800,
) -> Outcome:
    """The pool is stopped during the burst, so the whole burst waits in Kafka; it then
    drains at DRAIN_RATE orders/s while the fault strikes."""
    services = stack.services
    services.kill("inventory_consumer")  # its offsets are committed batch by batch
    rotation = SaleRotation.create(stack, sales, stock)
    load = Load(stack.gateway_url, rotation, rate).start()
    time.sleep(attempts_s)
    result = load.stop()
    services.start("inventory_consumer", FLASHSALE_MAX_ORDERS_PER_SECOND=DRAIN_RATE)
    try:
        eventually(lambda: (lag(stack) or 0) < len(result.tokens), 60, "the drain to begin")
        window = fault()
        checked = audit(stack, result, rotation.stock, DRAIN_S)
    finally:
        services.restart("inventory_consumer", FLASHSALE_MAX_ORDERS_PER_SECOND="0")
    # From the fault's end to the end of the drain.
    recovery = None if checked.drained_at is None else max(0.0, checked.drained_at - window[1])
    record = write_record(test, fault_name, result, checked, recovery)
    return Outcome(result, checked, record, window)


def _window(result: LoadResult, window: tuple[float, float]) -> dict[str, object]:
    """What the clients saw while the fault lasted (and stock remained)."""
    start, end = window
    return {
        "fault_s": round(end - start, 2),
        "answers_during_fault": {str(k): v for k, v in result.statuses(start, end).items()},
        "longest_without_202_s": round(result.longest_without_202(start, end), 2),
    }
