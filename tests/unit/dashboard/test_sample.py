"""What a sample says: the figures derived from the counters, the stock of the active
sales, the defaults of what could not be read."""

from __future__ import annotations

from dashboard.rates import Rates
from dashboard.sample import (
    CheckSummary,
    Offsets,
    Readings,
    SaleStock,
    StockLevel,
    chart_sample,
    derive,
    stock_level,
)

NOW = 10_000
SALES = [
    SaleStock("old", 0, 5_000, 7),  # over
    SaleStock("a", 1_000, 20_000, 30),
    SaleStock("b", 2_000, 20_000, 12),
    SaleStock("later", 50_000, 60_000, 99),  # not started
    SaleStock("oversold-bug", 1_500, 20_000, -3),  # never below zero on the chart
]


def test_the_stock_left_is_over_the_active_sales_and_the_newest_is_watched() -> None:
    assert stock_level(NOW, SALES, None) == StockLevel(42, 3, "b")
    assert stock_level(NOW, [], None) == StockLevel(0, 0, None)


def test_a_watched_sale_is_the_only_one_counted() -> None:
    assert stock_level(NOW, SALES, "a") == StockLevel(30, 1, "a")
    assert stock_level(NOW, SALES, "later") == StockLevel(99, 0, "later")


def test_inbound_is_what_the_gateway_answered() -> None:
    series = {
        "gateway:forwarded": 60, "gateway:rate_limited": 30, "gateway:sold_out": 10,
        "admission:reserved": 50, "admission:sold_out": 10,
    }  # fmt: skip
    figures = derive(series, gateway_counts=True)
    assert figures["inbound"] == 100
    assert figures["admitted"] == 50
    assert figures["rate_limited"] == 30
    assert figures["sold_out"] == 20  # the gateway's fast answers plus the order service's


def test_without_the_gateways_counts_inbound_is_what_reached_the_order_service() -> None:
    figures = derive({"admission:reserved": 5, "admission:sold_out": 7}, gateway_counts=False)
    assert figures["inbound"] == 12
    assert figures["rate_limited"] is None  # unknown, not zero: a gap on the chart


def test_the_readings_name_their_counters_and_sources() -> None:
    readings = Readings(gateway={}, admission={"reserved": 3}, offsets=Offsets(9, 4, 5), rows=2)
    assert readings.counters() == {
        "admission:reserved": 3, "kafka:produced": 9, "kafka:consumed": 4, "db:written": 2,
    }  # fmt: skip
    assert readings.sources == ("gateway", "admission", "kafka", "db")
    assert Readings().sources == ()


def test_a_sample_carries_the_charts_and_the_headline() -> None:
    readings = Readings(offsets=Offsets(10, 4, 6), stock=StockLevel(42, 3, "b"))
    rates = Rates({"kafka:produced": 3.14159}, {"kafka:produced": 10.0})
    checks = CheckSummary("b", (("stock_balances", True), ("per_user_limit", False)), 1.0)
    sample = chart_sample(1_700_000_000.1234, readings, rates, 8, checks)
    assert sample["t"] == 1_700_000_000.123
    assert sample["rates"]["produced"] == 3.14
    assert sample["rates"]["written"] is None
    assert sample["totals"]["produced"] == 10
    assert (sample["lag"], sample["peak_lag"], sample["stock"], sample["sale"]) == (6, 8, 42, "b")
    assert sample["workers"] == 1  # no supervisor publishes a count: the one consumer
    assert sample["checks"]["ok"] is False
    assert sample["checks"]["checks"][1] == {"name": "per_user_limit", "ok": False}


def test_nothing_read_is_a_sample_of_gaps() -> None:
    sample = chart_sample(0.0, Readings(workers=4), Rates({}, {}), 0, None)
    assert set(sample["rates"].values()) == {None}
    assert (sample["lag"], sample["stock"], sample["checks"]) == (None, None, None)
    assert sample["workers"] == 4


def test_backpressure_is_shown_only_when_the_gateway_said() -> None:
    unknown = chart_sample(0.0, Readings(), Rates({}, {}), 0, None)
    engaged = chart_sample(0.0, Readings(backpressure=1.0), Rates({}, {}), 0, None)
    released = chart_sample(0.0, Readings(backpressure=0.0), Rates({}, {}), 0, None)
    assert (unknown["backpressure"], engaged["backpressure"], released["backpressure"]) == (
        None,
        True,
        False,
    )
