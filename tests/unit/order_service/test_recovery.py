"""The recovery loop against fakes, its clock injected through the constructor: which
entries a round re-publishes, settles or prunes, and a loop that outlives a failed round."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime

import pytest

from flashsale.contracts import OrderPlaced, OrderVoided, decode_event, encode
from order_service.breaker import KafkaBreaker
from order_service.ports import Due
from order_service.recovery import Recovery, RecoveryRound
from tests.unit.order_service.fakes import FakeClock, FakePublisher, FakeReservations

HOUR_MS = 3_600_000


def recovery_over(
    clock: FakeClock, reservations: FakeReservations | None = None
) -> tuple[Recovery, FakeReservations, FakePublisher]:
    """Re-publish after 10 s; prune every 3 rounds, once a sale ended over an hour ago."""
    reservations = reservations or FakeReservations()
    publisher = FakePublisher()
    recovery = Recovery(
        reservations,
        publisher,
        KafkaBreaker(2.0, clock=clock),
        after_s=10.0,
        batch=100,
        clock=clock,
        prune_after_s=3600,
        prune_every=3,
    )
    return recovery, reservations, publisher


def placed() -> OrderPlaced:
    now = datetime.now(UTC)
    return OrderPlaced(order_id=uuid.uuid4(), sale_id="s1", user_id="u1", quantity=1, placed_at=now)


async def test_a_round_republishes_only_reservations_older_than_after_s() -> None:
    clock = FakeClock(now=1_000.0)
    recovery, reservations, publisher = recovery_over(clock)
    order = placed()
    reservations.pending[str(order.order_id)] = ("s1", order.model_dump_json(), 1_000_000)
    assert await recovery.run_once() == RecoveryRound(republished=0, voided=0)  # too young
    clock.now += 10.5
    assert (await recovery.run_once()).republished == 1
    assert [decode_event(p) for _, p in publisher.sent] == [order]  # same event id
    assert reservations.pending == {} and reservations.pointers == {str(order.order_id): "s1"}


async def test_a_round_settles_voids_and_keeps_them_while_kafka_is_down() -> None:
    recovery, reservations, publisher = recovery_over(FakeClock())
    order = placed()
    void = OrderVoided(
        **order.model_dump(include={"order_id", "sale_id", "user_id", "quantity"}),
        reason="produce failed",
    )
    reservations.voids[str(order.order_id)] = ("s1", encode(void).decode())
    publisher.down = True
    assert (await recovery.run_once()).voided == 0
    assert list(reservations.voids) == [str(order.order_id)]  # still there for the next round
    publisher.down = False
    assert (await recovery.run_once()).voided == 1
    assert reservations.voids == {} and publisher.sent == [("u1", encode(void))]


async def test_an_unreadable_entry_is_never_published() -> None:
    clock = FakeClock(now=1_000.0)
    recovery, reservations, publisher = recovery_over(clock)
    reservations.pending["o-1"] = ("s1", "not json", 0)
    assert (await recovery.run_once()).republished == 0
    assert publisher.sent == [] and "o-1" in reservations.pending


async def test_ended_settled_sales_leave_the_scan_the_others_stay() -> None:
    clock = FakeClock(now=10 * 3600.0)
    now_ms = int(clock.now * 1000)
    recovery, reservations, publisher = recovery_over(clock)
    publisher.down = True  # the void below stays unpublished
    reservations.add_sale("long-ended", stock=1, now_ms=0, ends_in_ms=HOUR_MS)
    reservations.add_sale("just-ended", stock=1, now_ms=now_ms - HOUR_MS, ends_in_ms=HOUR_MS - 1)
    reservations.add_sale("live", stock=1, now_ms=now_ms)
    reservations.add_sale("ended-with-void", stock=1, now_ms=0, ends_in_ms=HOUR_MS)
    reservations.voids["o-1"] = ("ended-with-void", "{}")
    reservations.add_sale("meta-lost", stock=1, now_ms=0, ends_in_ms=HOUR_MS)
    del reservations.sales["meta-lost"]  # Redis lost the meta: nobody knows when it ended
    reservations.pending["o-2"] = ("meta-lost", "{}", now_ms)

    done = await recovery.run_once()

    assert done.pruned == 1
    assert reservations.listed == {"just-ended", "live", "ended-with-void", "meta-lost"}
    assert "long-ended" in reservations.sales  # its keys stay: only the scan forgets it


async def test_pruning_runs_only_every_n_rounds() -> None:
    clock = FakeClock(now=10 * 3600.0)
    recovery, reservations, _ = recovery_over(clock)
    assert (await recovery.run_once()).pruned == 0  # round 1 prunes: nothing ended yet
    reservations.add_sale("s1", stock=1, now_ms=0, ends_in_ms=HOUR_MS)
    assert [(await recovery.run_once()).pruned for _ in range(2)] == [0, 0]  # rounds 2, 3
    assert reservations.listed == {"s1"}
    assert (await recovery.run_once()).pruned == 1  # round 4
    assert reservations.listed == set()


class FlakyReservations(FakeReservations):
    """Redis blips on the first `failures` scans, then answers as usual."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def due_voids(self, limit: int) -> list[Due]:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("redis blip (fake)")
        return await super().due_voids(limit)


async def test_the_loop_outlives_a_failed_round_and_runs_until_cancelled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(now=1_000.0)
    recovery, reservations, publisher = recovery_over(clock, FlakyReservations(failures=2))
    order = placed()
    reservations.pending[str(order.order_id)] = ("s1", order.model_dump_json(), 0)
    with caplog.at_level(logging.INFO, logger="order_service.recovery"):
        loop = asyncio.create_task(recovery.run_forever(interval_s=0.001))
        async with asyncio.timeout(5):
            while not publisher.sent:  # noqa: ASYNC110 - polls the fake broker
                await asyncio.sleep(0.001)
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop
    assert len(publisher.sent) == 1 and reservations.pending == {}
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("recovery round failed") == 2
    assert "recovery: 1 re-published, 0 voided, 0 ended sales pruned" in messages


async def test_the_loop_stops_when_a_timeout_swallowed_its_cancellation() -> None:
    """Python 3.11: an asyncio.timeout expiring as the task is cancelled turns the
    CancelledError into a TimeoutError. The loop must stop anyway, not carry on for ever."""
    recovery, _, _ = recovery_over(FakeClock())

    async def cancelled_into_a_timeout() -> RecoveryRound:
        asyncio.current_task().cancel()  # type: ignore[union-attr]
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            raise TimeoutError("the cancellation, lost in a timeout") from None
        raise AssertionError("not cancelled")

    recovery.run_once = cancelled_into_a_timeout  # type: ignore[method-assign]
    task = asyncio.ensure_future(recovery.run_forever(0.001))
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
