"""Redis loses data; PostgreSQL keeps the record. Nothing oversells, nobody buys twice, and
`flashsale repair` makes Redis agree with the database again."""

from __future__ import annotations

import time

import pytest
from redis import Redis
from sqlalchemy import Engine

from flashsale.check import check_invariants
from flashsale.check_redis import check_redis
from flashsale.lag import wait_until_consumed
from flashsale.repair import SaleRepair
from flashsale.settings import InfraSettings
from flashsale.stock import SALES_SET, SaleKeys
from inventory_consumer.adapters.sql import OVERSOLD_REASON
from inventory_consumer.settings import InventoryConsumerSettings
from tests.fulfilment_helpers import (
    create_sale,
    inventory_settings,
    running_inventory,
    scalar,
)
from tests.polling import eventually
from tests.random_refs import random_user_id
from tests.redis_shop import Shop

pytestmark = pytest.mark.integration


def count(engine: Engine, sale_id: str, statuses: str) -> int:
    sql = f"SELECT count(*) FROM orders WHERE sale_id = :s AND status IN ({statuses})"  # noqa: S608
    return int(scalar(engine, sql, s=sale_id))


def live(engine: Engine, sale_id: str) -> int:
    return count(engine, sale_id, "'CREATED', 'PAID'")


def repairer(
    engine: Engine, redis: Redis, infra: InfraSettings, settings: InventoryConsumerSettings
) -> SaleRepair:
    def drained() -> bool:
        return wait_until_consumed(
            infra.kafka_bootstrap, settings.inventory_group_id, settings.orders_topic, 60
        )

    return SaleRepair(engine, redis, drained, settle_s=0)


def redis_drift(engine: Engine, redis: Redis, sale_id: str) -> list[str]:
    results = check_redis(engine, redis, int(time.time() * 1000), 60, sale_id)
    return [r.name for r in results if not r.ok]


def test_total_loss_then_repair_sells_exactly_the_stock(
    infra: InfraSettings, engine: Engine, redis_client: Redis
) -> None:
    sale_id = create_sale(engine, infra, 30, "loss")
    settings = inventory_settings(infra)
    shop = Shop(redis_client, infra.kafka_bootstrap, settings.orders_topic)
    first = [random_user_id() for _ in range(20)]
    with running_inventory(settings):
        assert {shop.buy(sale_id, u)[0] for u in first} == {"reserved"}
        redis_client.delete(*SaleKeys(sale_id).all())  # total loss, orders still in the lag
        redis_client.srem(SALES_SET, sale_id)
        [report] = repairer(engine, redis_client, infra, settings).repair([sale_id])
        assert (report.stock, report.buyers) == (10, 20)
        assert {shop.buy(sale_id, u)[0] for u in first} == {"already_purchased"}
        outcomes = [shop.buy(sale_id, random_user_id())[0] for _ in range(20)]
        assert outcomes.count("reserved") == 10
        eventually(lambda: live(engine, sale_id) == 30, 30, "every order written")
    assert count(engine, sale_id, "'FAILED'") == 0
    assert scalar(engine, "SELECT remaining_stock FROM sales WHERE sale_id = :s", s=sale_id) == 0
    assert check_invariants(engine, sale_id) == []
    assert redis_drift(engine, redis_client, sale_id) == []


def test_repair_fences_admission_until_the_count_is_right(
    infra: InfraSettings, engine: Engine, redis_client: Redis
) -> None:
    sale_id = create_sale(engine, infra, 5, "fence")
    settings = inventory_settings(infra)
    shop = Shop(redis_client, infra.kafka_bootstrap, settings.orders_topic)
    during: list[str] = []

    def drained() -> bool:  # the moment the repair waits for the lag: try to buy
        during.append(shop.buy(sale_id, random_user_id())[0])
        return True

    SaleRepair(engine, redis_client, drained, settle_s=0).repair([sale_id])
    assert during == ["fenced"]
    assert shop.buy(sale_id, random_user_id())[0] == "reserved"  # reopened


def test_partial_loss_is_refused_by_the_db_without_a_loop_and_named_by_check(
    infra: InfraSettings, engine: Engine, redis_client: Redis
) -> None:
    """The last second of AOF lost: five sales forgotten, their units and slots back in
    Redis. The extra reservations PostgreSQL refuses end FAILED, and no unit goes round."""
    sale_id = create_sale(engine, infra, 20, "partial")
    keys = SaleKeys(sale_id)
    settings = inventory_settings(infra, batch_max_messages=10)
    shop = Shop(redis_client, infra.kafka_bootstrap, settings.orders_topic)
    buyers = [random_user_id() for _ in range(20)]
    with running_inventory(settings):
        assert {shop.buy(sale_id, u)[0] for u in buyers} == {"reserved"}
        eventually(lambda: live(engine, sale_id) == 20, 30, "the first 20 orders")
        forgotten = buyers[-5:]
        redis_client.hdel(keys.buyers, *forgotten)
        redis_client.incrby(keys.stock, 5)
        again = [shop.buy(sale_id, u)[0] for u in forgotten[:3]]
        fresh = [shop.buy(sale_id, random_user_id())[0] for _ in range(10)]
        admitted = again.count("reserved") + fresh.count("reserved")
        assert admitted >= 5
        eventually(lambda: count(engine, sale_id, "'FAILED'") == admitted, 60, "the extras to fail")
        settled = scalar(engine, "SELECT count(*) FROM orders WHERE sale_id = :s", s=sale_id)
        time.sleep(3)  # a unit going round would make new orders and FAILED rows here
        assert (
            scalar(engine, "SELECT count(*) FROM orders WHERE sale_id = :s", s=sale_id) == settled
        )
        assert live(engine, sale_id) == 20  # never more than the stock
        oversold = scalar(
            engine, "SELECT count(*) FROM orders WHERE sale_id = :s AND reason = :r",
            s=sale_id, r=OVERSOLD_REASON,
        )  # fmt: skip
        assert oversold == fresh.count("reserved")
        assert "redis_buyers_match_live_orders" in redis_drift(engine, redis_client, sale_id)
        repairer(engine, redis_client, infra, settings).repair([sale_id])
    assert check_invariants(engine, sale_id) == []
    assert redis_drift(engine, redis_client, sale_id) == []
