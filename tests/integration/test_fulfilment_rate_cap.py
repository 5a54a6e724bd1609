"""Done-when 4: the consumer's orders/s cap holds within ±10% over a 10 s window, read from
the rows' created_at in PostgreSQL while a backlog waits on the topic (lag, not load)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from flashsale.settings import InfraSettings
from tests.fulfilment_helpers import (
    create_sale,
    inventory_settings,
    placed,
    produce_orders,
    running_inventory,
    scalar,
)
from tests.polling import eventually

pytestmark = pytest.mark.integration

RATE, BACKLOG = 150, 2600  # 17 s of work at the cap: the topic never runs dry in the window


def test_the_rate_cap_holds_within_ten_percent_over_ten_seconds(
    infra: InfraSettings, engine: Engine
) -> None:
    sale_id = create_sale(engine, infra, BACKLOG, "rate")
    settings = inventory_settings(infra, max_orders_per_second=RATE, batch_max_messages=500)
    produce_orders(
        infra.kafka_bootstrap, settings.orders_topic, [placed(sale_id) for _ in range(BACKLOG)]
    )
    first = "SELECT min(created_at) FROM orders WHERE sale_id = :s"
    last = "SELECT max(created_at) FROM orders WHERE sale_id = :s"

    with running_inventory(settings):
        eventually(lambda: scalar(engine, first, s=sale_id) is not None, 30, "the first batch")
        start = scalar(engine, first, s=sale_id) + timedelta(seconds=1)  # past the initial burst
        end = start + timedelta(seconds=10)
        eventually(lambda: scalar(engine, last, s=sale_id) > end, 30, "a full 10 s window")

    in_window = scalar(
        engine,
        "SELECT count(*) FROM orders WHERE sale_id = :s AND created_at >= :a AND created_at < :b",
        s=sale_id, a=start, b=end,
    )  # fmt: skip
    measured = in_window / 10.0
    print(f"cap {RATE}/s, measured {measured:.1f}/s over 10 s")
    assert abs(measured - RATE) <= 0.10 * RATE
    backlog_left = BACKLOG - scalar(
        engine, "SELECT count(*) FROM orders WHERE sale_id = :s", s=sale_id
    )
    assert backlog_left > 0  # the burst waited on the topic instead of hitting the DB
