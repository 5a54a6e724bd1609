"""The order service's metrics: admissions by outcome and the stock left per sale, the
sold-out answers that never reach Redis, and every produce (acked or failed, timed)."""

from __future__ import annotations

from typing import Any

import pytest

from flashsale.async_producer import DeliveryFailed
from flashsale.contracts import PlaceOrder
from flashsale.metrics import RecordingMetrics
from order_service import handlers
from order_service.adapters.publisher import KafkaOrderPublisher
from order_service.breaker import KafkaBreaker
from order_service.recovery import Recovery
from order_service.shortcuts import FastAnswers
from order_service.telemetry import OrderMetrics
from tests.unit.order_service.fakes import (
    FakeClock,
    FakePublisher,
    FakeReservations,
    fake_services,
)


def admissions(metrics: RecordingMetrics) -> dict[str, int]:
    return {
        dict(labels)["outcome"]: n
        for (name, labels), n in metrics.counts.items()
        if name == "flashsale_admission_total"
    }


async def test_admissions_are_counted_by_outcome_and_the_stock_left_is_the_last_seen() -> None:
    services, metrics = fake_services(), RecordingMetrics()
    services.deps.metrics = OrderMetrics(metrics)
    reservations = services.deps.reservations
    assert isinstance(reservations, FakeReservations)
    reservations.add_sale("s1", stock=2)
    for user in ("u1", "u2", "u1", "u3"):
        await handlers.place_order(PlaceOrder(sale_id="s1", user_id=user), None, services.deps)
    await handlers.place_order(PlaceOrder(sale_id="nope", user_id="u1"), None, services.deps)
    assert admissions(metrics) == {
        "reserved": 2, "already_purchased": 1, "sold_out": 1, "unknown_sale": 1
    }  # fmt: skip
    assert metrics.gauge("flashsale_stock_remaining", sale_id="s1") == 0
    assert metrics.gauge("flashsale_stock_remaining", sale_id="nope") is None  # no real sale


async def test_a_sold_out_answer_is_counted_from_the_flag_or_from_redis() -> None:
    services, metrics = fake_services(), RecordingMetrics()
    services.deps.metrics = OrderMetrics(metrics)
    services.deps.reservations.add_sale("s1", stock=0)  # type: ignore[attr-defined]
    services.deps.flags.mark("s1")
    # With a key the request reaches reserve.lua, which says sold out.
    answer = await handlers.place_order(PlaceOrder(sale_id="s1", user_id="u1"), "k1", services.deps)
    assert answer.status == 409
    edge = FastAnswers(
        _never_called, services.deps.flags, 10, 1, max_body=4096,
        on_sold_out=services.deps.metrics.sold_out.inc,
    )  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/sales/s1/orders", "headers": []}
    await edge(scope, _never_called, send)
    assert sent[0]["status"] == 409
    assert admissions(metrics) == {"sold_out": 2}


async def _never_called(*_: Any) -> None:
    raise AssertionError("the sold-out shortcut reached the app")


class ScriptedProducer:
    """AsyncProducer's produce: acknowledges, or fails the delivery when told."""

    def __init__(self) -> None:
        self.down = False

    async def produce(self, topic: str, key: str, value: bytes) -> None:
        if self.down:
            raise DeliveryFailed("broker down (fake)")


async def test_every_produce_is_counted_acked_or_failed_and_an_ack_is_timed() -> None:
    producer, metrics = ScriptedProducer(), RecordingMetrics()
    publisher = KafkaOrderPublisher(producer, "orders", metrics)  # type: ignore[arg-type]
    await publisher.publish("u1", b"{}")
    await publisher.publish("u2", b"{}")
    producer.down = True
    with pytest.raises(DeliveryFailed):
        await publisher.publish("u3", b"{}")
    assert metrics.count("flashsale_orders_produced_total", result="acked") == 2
    assert metrics.count("flashsale_orders_produced_total", result="failed") == 1
    assert len(metrics.observations["flashsale_produce_seconds"]) == 2


async def test_a_sale_the_recovery_prunes_leaves_the_stock_gauges() -> None:
    clock, reservations, metrics = FakeClock(now=10_000.0), FakeReservations(), OrderMetrics()
    reservations.add_sale("ended", stock=1, now_ms=0, ends_in_ms=1)
    reservations.add_sale("live", stock=1, now_ms=10_000_000)
    forgotten: list[str] = []
    recovery = Recovery(
        reservations, FakePublisher(), KafkaBreaker(2.0, clock=clock), after_s=10.0, batch=10,
        clock=clock, prune_after_s=1, on_pruned=forgotten.append,
    )  # fmt: skip
    assert (await recovery.run_once()).pruned == 1
    assert forgotten == ["ended"]
    metrics.forget_sale("never-seen")  # nothing bound: nothing to drop
