"""The adapters' pure parts: /metrics text to counters, offsets to totals, a report to
its summary. (Against the real stores: tests/e2e/test_dashboard.py.)"""

from __future__ import annotations

import asyncio
import threading

import pytest

from dashboard.adapters.kafka import offsets_of
from dashboard.adapters.scrape import counter_by_label, gauge_value
from dashboard.adapters.sql import summary_of
from dashboard.adapters.threads import SharedThreadRead
from dashboard.bootstrap import ADMISSIONS, GATEWAY_REQUESTS
from dashboard.sample import Offsets
from flashsale.check import CheckResult, Report
from flashsale.lag import PartitionLag
from flashsale.metric_catalog import CATALOG

METRICS = """\
# HELP flashsale_gateway_requests_total Gateway /api/ requests by outcome.
# TYPE flashsale_gateway_requests_total counter
flashsale_gateway_requests_total{outcome="forwarded"} 120.0
flashsale_gateway_requests_total{outcome="rate_limited"} 30.0
# HELP flashsale_gateway_requests_created Gateway /api/ requests by outcome.
# TYPE flashsale_gateway_requests_created gauge
flashsale_gateway_requests_created{outcome="forwarded"} 1.7e9
# HELP flashsale_admission_total Purchase attempts answered by the order service.
# TYPE flashsale_admission_total counter
flashsale_admission_total{outcome="reserved",instance="a"} 5.0
flashsale_admission_total{outcome="reserved",instance="b"} 2.0
"""


def test_a_counter_family_is_read_by_its_label() -> None:
    assert counter_by_label(METRICS, GATEWAY_REQUESTS, "outcome") == {
        "forwarded": 120,
        "rate_limited": 30,
    }
    assert counter_by_label(METRICS, ADMISSIONS, "outcome") == {"reserved": 7}


def test_a_missing_family_reads_as_no_counts() -> None:
    assert counter_by_label("", GATEWAY_REQUESTS, "outcome") == {}


def test_the_families_read_are_declared_in_the_catalog() -> None:
    declared = {family.name: family for family in CATALOG}
    for name in (GATEWAY_REQUESTS, ADMISSIONS):
        assert declared[name].kind == "counter"
        assert declared[name].labels == ("outcome",)


def test_offsets_sum_over_the_partitions() -> None:
    partitions = [PartitionLag(0, committed=10, high=15), PartitionLag(1, committed=8, high=8)]
    assert offsets_of(partitions) == Offsets(produced=23, consumed=18, lag=5)


def test_a_report_becomes_named_green_and_red_checks() -> None:
    report = Report([CheckResult("stock_balances"), CheckResult("per_user_limit", [{"u": 1}])])
    summary = summary_of(report, None, at=5.0)
    assert summary.scope == "all sales"
    assert summary.checks == (("stock_balances", True), ("per_user_limit", False))
    assert not summary.ok


async def test_a_blocking_read_still_running_is_shared_not_repeated() -> None:
    release, calls = threading.Event(), []

    def slow_read() -> int:
        calls.append(1)
        release.wait(5)
        return len(calls)

    read = SharedThreadRead(slow_read)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(read(), 0.05)  # the sampler gave up; the thread runs on
    waiting = asyncio.create_task(read())
    await asyncio.sleep(0.05)
    release.set()
    assert await waiting == 1
    assert calls == [1]
    assert await read() == 2  # done: the next read is a new one


def test_the_backpressure_gauge_is_read_from_the_gateways_text() -> None:
    text = (
        "# HELP flashsale_gateway_backpressure 1 while engaged\n"
        "# TYPE flashsale_gateway_backpressure gauge\n"
        "flashsale_gateway_backpressure 1.0\n"
    )
    assert gauge_value(text, "flashsale_gateway_backpressure") == 1.0
    assert gauge_value("", "flashsale_gateway_backpressure") is None
