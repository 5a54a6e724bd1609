"""The capacity table follows its stated model, from the bench rows it names."""

from __future__ import annotations

import pytest

from loadtests.capacity import ROWS, capacity_rows, render_capacity

RATES = {"refuse": 30_000, "forward": 5_000, "admit": 4_000, "script": 35_000, "write": 800}
RESULTS = [{"name": ROWS[key], "rps": rate} for key, rate in RATES.items()]


def test_each_figure_is_the_rate_it_needs_over_the_measured_rate_rounded_up() -> None:
    small, large = capacity_rows(RESULTS)
    assert small["forwarded"] == 10_000
    assert small["gateway"] == 6  # 100,000 / 30,000 + 10,000 / 5,000 = 5.3
    assert small["order_service"] == 3  # 10,000 / 4,000
    assert small["redis_cores"] == 1
    assert small["consumers"] == 2  # 10,000 orders in 10 s at 800/s each
    assert small["partitions"] == 12
    assert large["gateway"] == 54  # 1,000,000 / 30,000 + 100,000 / 5,000 = 53.3
    assert large["redis_cores"] == 3  # one sale past one core: shards
    assert large["sell_out_s"] == pytest.approx(0.1)


def test_a_missing_row_says_which_and_how_to_get_it() -> None:
    with pytest.raises(KeyError, match="make bench"):
        capacity_rows(RESULTS[1:])
    assert "| 1,000,000 | 100,000 | 54 |" in render_capacity(RESULTS)
