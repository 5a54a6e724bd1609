"""The sampler over fake stores, and the hub that hands the samples to browsers."""

from __future__ import annotations

import asyncio
import itertools

from dashboard.handlers import SUBSCRIBER_BACKLOG, Hub, Sampler, keep_sampling
from dashboard.sample import Offsets, StockLevel
from tests.unit.dashboard.fakes import FakeSources


def sampler_over(sources: FakeSources, **options: object) -> Sampler:
    ticks = itertools.count()
    return Sampler(sources.wired(), clock=lambda: float(next(ticks)), wall_clock=lambda: 0.0,
                   **options)  # type: ignore[arg-type]  # fmt: skip


async def test_a_sample_turns_the_stores_counters_into_rates() -> None:
    sources = FakeSources()
    sampler = sampler_over(sources)
    await sampler.sample()
    sources.gateway.values = {"forwarded": 40, "sold_out": 60}
    sources.admission.values = {"reserved": 40}
    sources.offsets.offsets = Offsets(produced=40, consumed=10, lag=30)
    sources.rows.rows = 10
    sources.stock.level = StockLevel(10, 1, "s1")
    sources.workers.workers = 3
    sample = await sampler.sample()
    assert sample["rates"] == {
        "inbound": 100, "admitted": 40, "rate_limited": None, "sold_out": 60,
        "produced": 40, "consumed": 10, "written": 10,
    }  # fmt: skip
    levels = (sample["lag"], sample["peak_lag"], sample["stock"], sample["workers"])
    assert levels == (30, 30, 10, 3)


async def test_a_store_that_fails_or_hangs_leaves_a_gap_not_a_missing_sample() -> None:
    sources = FakeSources()
    sources.gateway.down = True
    sources.offsets.hang = True
    sampler = sampler_over(sources, read_timeout_s=0.05)
    sample = await sampler.sample()
    assert sample["lag"] is None
    assert sampler.failing == {"gateway /metrics", "Kafka offsets"}
    sources.gateway.down = sources.offsets.hang = False
    await sampler.sample()
    assert sampler.failing == set()


async def test_the_peak_lag_is_kept_while_the_backlog_drains() -> None:
    sources = FakeSources()
    sampler = sampler_over(sources)
    for lag in (0, 500, 120, 0):
        sources.offsets.offsets = Offsets(1_000, 1_000 - lag, lag)
        sample = await sampler.sample()
    assert (sample["lag"], sample["peak_lag"]) == (0, 500)


async def test_the_checks_are_of_the_watched_sale_and_ride_on_the_samples() -> None:
    sources = FakeSources()
    sources.stock.level = StockLevel(5, 2, "newest")
    sources.checks.failing = ("per_user_limit",)
    sampler = sampler_over(sources)
    await sampler.sample()
    await sampler.check()
    sample = await sampler.sample()
    assert sources.checks.asked == ["newest"]
    assert sample["checks"]["scope"] == "newest"
    assert sample["checks"]["ok"] is False


async def test_checking_every_sale_when_told() -> None:
    sources = FakeSources()
    sources.stock.level = StockLevel(5, 2, "newest")
    sampler = sampler_over(sources, check_all_sales=True)
    await sampler.sample()
    await sampler.check()
    assert sources.checks.asked == [None]


async def collect(hub: Hub, after_id: int | None, lasting_s: float) -> list[tuple[int, dict]]:
    return [numbered async for numbered in hub.stream(after_id, lasting_s)]


async def test_a_browser_gets_the_recent_samples_then_the_new_ones() -> None:
    hub = Hub(history=2)
    for n in range(3):
        hub.publish({"n": n})
    watching = asyncio.create_task(collect(hub, None, 0.2))
    await asyncio.sleep(0.01)
    assert hub.subscribers == 1
    hub.publish({"n": 3})
    assert await watching == [(2, {"n": 1}), (3, {"n": 2}), (4, {"n": 3})]
    assert hub.subscribers == 0  # the response ended: the browser reconnects


async def test_a_reconnecting_browser_gets_only_what_it_missed() -> None:
    hub = Hub(history=10)
    for n in range(4):
        hub.publish({"n": n})
    assert await collect(hub, 2, 0.01) == [(3, {"n": 2}), (4, {"n": 3})]
    # Numbered by a dashboard since restarted: everything kept is news.
    assert len(await collect(hub, 99, 0.01)) == 4


async def test_a_stalled_browser_misses_its_oldest_samples() -> None:
    hub = Hub(history=1)
    hub.publish({"n": 0})
    stream = hub.stream(None, 5.0)
    assert await anext(stream) == (1, {"n": 0})  # the replay; now it is subscribed
    for n in range(1, 200):
        hub.publish({"n": n})
    assert await anext(stream) == (200 - SUBSCRIBER_BACKLOG + 1, {"n": 200 - SUBSCRIBER_BACKLOG})
    await stream.aclose()
    assert hub.subscribers == 0


async def test_keep_sampling_publishes_on_a_beat() -> None:
    sources = FakeSources()
    sampler = Sampler(sources.wired())
    hub = Hub(history=100)
    task = asyncio.create_task(keep_sampling(sampler, hub, 0.02))
    await asyncio.sleep(0.15)
    task.cancel()
    assert 4 <= len(hub.recent) <= 9


async def test_keep_sampling_stops_even_when_python_3_11_loses_its_cancellation() -> None:
    # The task is cancelled just as a read inside wait_for ends (the backpressure gauge's,
    # read outside the gather): 3.11's wait_for then returns the read's value and drops
    # the CancelledError (fixed in 3.12).
    sources = FakeSources()
    task = asyncio.create_task(keep_sampling(Sampler(sources.wired()), Hub(history=100), 0.01))
    sources.backpressure.on_read = task.cancel
    done, _ = await asyncio.wait([task], timeout=2)
    assert task in done and task.cancelled()
