"""The recovery loop's pruning of ended sales, against fakes and a fake clock."""

from __future__ import annotations

from typing import cast

from order_service.recovery import Recovery
from tests.unit.order_service.fakes import FakeClock, FakePublisher, FakeReservations, fake_services

HOUR_MS = 3_600_000


def recovery_over(clock: FakeClock) -> tuple[Recovery, FakeReservations, FakePublisher]:
    # Prune every 3 rounds, once a sale ended more than an hour ago.
    services = fake_services(clock, prune_ended_after_s=3600, prune_every_rounds=3)
    recovery = services.recovery
    recovery._clock = clock
    deps = services.deps
    return recovery, cast(FakeReservations, deps.reservations), cast(FakePublisher, deps.publisher)


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
