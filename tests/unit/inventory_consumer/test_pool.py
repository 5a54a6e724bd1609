"""The pool's workers share the database's write cap: scaling out never writes faster."""

from __future__ import annotations

import pytest

from inventory_consumer.pool import worker_env


def test_each_worker_gets_its_share_of_the_write_cap() -> None:
    assert worker_env(200, 4)["FLASHSALE_MAX_ORDERS_PER_SECOND"] == "50.0"


def test_no_cap_stays_no_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLASHSALE_MAX_ORDERS_PER_SECOND", raising=False)
    assert "FLASHSALE_MAX_ORDERS_PER_SECOND" not in worker_env(0, 4)
