"""Done-when 5: an unpaid order expires, and its stock comes back to PostgreSQL AND Redis
(the user's slot freed), with OrderCancelled published through the outbox. Driven by the
consumer process's own expiry and relay threads."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import Engine, text

from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys
from tests.fulfilment_helpers import (
    create_sale,
    inventory_settings,
    placed,
    produce_orders,
    reserve_in_redis,
    running_inventory,
    scalar,
)
from tests.polling import eventually

pytestmark = pytest.mark.integration


def test_expiry_returns_the_stock_to_postgres_and_redis(
    infra: InfraSettings, engine: Engine, redis_client: redis.Redis
) -> None:
    sale_id = create_sale(engine, infra, 10, "expiry", per_user_limit=3)
    keys = SaleKeys(sale_id)
    orders = [placed(sale_id, quantity=q) for q in (1, 2, 3)]
    reserve_in_redis(redis_client, sale_id, orders)
    assert redis_client.get(keys.stock) == "4"
    settings = inventory_settings(
        infra, order_ttl_s=1.0, expiry_enabled=True, expiry_interval_s=0.2
    )
    produce_orders(infra.kafka_bootstrap, settings.orders_topic, orders)
    statuses = "SELECT count(*) FROM orders WHERE sale_id = :s AND status = 'CANCELLED'"

    with running_inventory(settings):
        eventually(lambda: scalar(engine, statuses, s=sale_id) == 3, 30, "the orders cancelled")
        eventually(lambda: redis_client.get(keys.stock) == "10", 15, "the Redis stock back")
        # The user's slot is free again: a new order of the same user is created.
        again = placed(sale_id, user_id=orders[0].user_id)
        reserve_in_redis(redis_client, sale_id, [again])
        produce_orders(infra.kafka_bootstrap, settings.orders_topic, [again])
        eventually(
            lambda: scalar(engine, "SELECT status FROM orders WHERE order_id = :o", o=again.order_id)
            in ("CREATED", "CANCELLED"),
            30, "the second order of the same user",
        )  # fmt: skip

    remaining = "SELECT remaining_stock FROM sales WHERE sale_id = :s"
    with engine.connect() as conn:
        reasons = conn.execute(
            text("SELECT DISTINCT reason FROM orders WHERE order_id = ANY(:ids)"),
            {"ids": [o.order_id for o in orders]},
        ).scalars().all()  # fmt: skip
    assert reasons == ["payment timeout"]
    # The stock is back in both: only the second order may hold a unit, if not expired yet.
    assert scalar(engine, remaining, s=sale_id) in (9, 10)
    assert redis_client.sismember(keys.released, str(orders[2].order_id))
    for order in orders[1:]:
        assert redis_client.hget(keys.buyers, order.user_id) is None
    # Exactly one OrderCancelled per order, published (sent_at). Any topic: on a dev
    # machine another running consumer's expiry worker may have won the race to cancel.
    with engine.connect() as conn:
        cancelled = conn.execute(
            text(
                "SELECT key, count(*), bool_and(sent_at IS NOT NULL) FROM outbox"
                " WHERE key = ANY(:keys) AND event_type = 'OrderCancelled' GROUP BY key"
            ),
            {"keys": [str(o.order_id) for o in orders]},
        ).all()
    assert sorted((k, n, sent) for k, n, sent in cancelled) == sorted(
        (str(o.order_id), 1, True) for o in orders
    )
