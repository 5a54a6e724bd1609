"""Late voids: an order whose OrderPlaced reached Kafka stands, whatever arrives after it.

The order service voids an order when Kafka did not acknowledge its produce, but the
message may have landed all the same. Then the order was created, perhaps confirmed by
email and paid, before its void arrives. The void loses, the user's Redis slot names the
order again, and the client, PostgreSQL, Redis and the emails agree."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import Engine, text

from flashsale.check_redis import check_redis
from flashsale.contracts import OrderPlaced, OrderVoided, PayOrder, encode
from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys
from inventory_consumer.adapters.sql import SqlOrderStore
from inventory_consumer.plan import BatchOutcome, plan_batch
from order_service.adapters.sql import SqlPayments
from order_service.payments import PaymentOutcome
from tests.fulfilment_helpers import (
    create_sale,
    inventory_settings,
    placed,
    produce,
    reserve_in_redis,
    running_inventory,
    scalar,
)
from tests.polling import eventually
from tests.random_refs import random_topic

pytestmark = pytest.mark.integration


def void_of(order: OrderPlaced) -> OrderVoided:
    return OrderVoided(
        order_id=order.order_id,
        sale_id=order.sale_id,
        user_id=order.user_id,
        quantity=order.quantity,
        reason="produce failed: delivery timed out",
    )


def voided_in_redis(redis: Redis, order: OrderPlaced) -> None:
    """What the order service leaves after a produce it could not confirm: reserve.lua's
    pending entry, then mark_void.lua's slot, void and exit from the re-publish scan."""
    reserve_in_redis(redis, order.sale_id, [order])
    keys, order_id = SaleKeys(order.sale_id), str(order.order_id)
    redis.hset(keys.pending, order_id, encode(order))
    redis.hset(keys.buyers, order.user_id, f"void:{order_id}")
    redis.hset(keys.voids, order_id, encode(void_of(order)))


def status_of(engine: Engine, order_id: uuid.UUID) -> Any:
    return scalar(engine, "SELECT status FROM orders WHERE order_id = :o", o=order_id)


def outbox_types(engine: Engine, order_id: uuid.UUID) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT event_type FROM outbox WHERE key = :k ORDER BY id"), {"k": str(order_id)}
        )
        return [r.event_type for r in rows]


def test_a_void_after_payment_loses_and_the_slot_names_the_order(
    infra: InfraSettings, engine: Engine, redis_client: Redis
) -> None:
    sale_id = create_sale(engine, infra, 5, "latevoid")
    order, keys = placed(sale_id), SaleKeys(sale_id)
    voided_in_redis(redis_client, order)
    settings = inventory_settings(infra)
    with running_inventory(settings):
        produce(infra.kafka_bootstrap, settings.orders_topic, [(order.user_id, encode(order))])
        eventually(lambda: status_of(engine, order.order_id) == "CREATED", 30, "the order")
        paid = SqlPayments(engine, settings.order_events_topic).pay(
            PayOrder(order_id=order.order_id)
        )
        assert paid.outcome is PaymentOutcome.PAID
        late = void_of(order)
        produce(infra.kafka_bootstrap, settings.orders_topic, [(order.user_id, encode(late))])
        eventually(
            lambda: redis_client.hget(keys.buyers, order.user_id) == str(order.order_id),
            30,
            "the slot to name the order again",
        )
    assert status_of(engine, order.order_id) == "PAID"
    assert scalar(engine, "SELECT remaining_stock FROM sales WHERE sale_id = :s", s=sale_id) == 4
    assert redis_client.get(keys.stock) == "4"  # no unit came back for the lost void
    assert not redis_client.sismember(keys.released, str(order.order_id))
    assert outbox_types(engine, order.order_id) == ["OrderCreated", "OrderPaid", "OrderReinstated"]


def test_a_placement_and_its_void_in_one_batch_give_the_same_answer(
    infra: InfraSettings, engine: Engine, redis_client: Redis
) -> None:
    sale_id = create_sale(engine, infra, 5, "samebatch")
    order, keys = placed(sale_id), SaleKeys(sale_id)
    voided_in_redis(redis_client, order)
    settings = inventory_settings(infra)
    both = [(order.user_id, encode(order)), (order.user_id, encode(void_of(order)))]
    produce(infra.kafka_bootstrap, settings.orders_topic, both)  # read as one batch
    with running_inventory(settings):
        eventually(
            lambda: redis_client.hget(keys.buyers, order.user_id) == str(order.order_id),
            30,
            "the slot to name the order again",
        )
    assert status_of(engine, order.order_id) == "CREATED"
    assert outbox_types(engine, order.order_id) == ["OrderCreated", "OrderReinstated"]
    # Nothing of the void is left to hold the sale in the recovery scan for ever.
    eventually(
        lambda: not redis_client.hexists(keys.pending, str(order.order_id)),
        30,
        "the reinstated order's pending entry to go",
    )
    assert not redis_client.hexists(keys.voids, str(order.order_id))


@pytest.mark.parametrize("placement_commits", [True, False])
def test_a_void_racing_the_apply_of_its_placement_is_never_lost(
    infra: InfraSettings, engine: Engine, placement_commits: bool
) -> None:
    """Two consumers after a rebalance: one applies the placement, the other its void. The
    void's INSERT waits for the placement's uncommitted row, then sees what became of it."""
    sale_id = create_sale(engine, infra, 5, "race")
    order = placed(sale_id)
    store = SqlOrderStore(engine, random_topic("events"), order_ttl_s=3600)
    outcome: list[BatchOutcome] = []
    with engine.connect() as first:
        applying = first.begin()
        store.apply_in(first, plan_batch([order]))
        racer = threading.Thread(
            target=lambda: outcome.append(store.apply(plan_batch([void_of(order)])))
        )
        racer.start()
        racer.join(1.0)
        assert racer.is_alive(), "the void must wait for the placement's transaction"
        applying.commit() if placement_commits else applying.rollback()
    racer.join(10)
    if placement_commits:  # the order landed: it stands, the void reinstates it
        assert (outcome[0].reinstated, outcome[0].tombstones) == (1, 0)
        assert status_of(engine, order.order_id) == "CREATED"
        assert outbox_types(engine, order.order_id) == ["OrderCreated", "OrderReinstated"]
    else:  # it never landed: the void's tombstone, and the stock is owed back to Redis
        assert (outcome[0].reinstated, outcome[0].tombstones) == (0, 1)
        assert status_of(engine, order.order_id) == "FAILED"
        assert outbox_types(engine, order.order_id) == ["OrderFailed"]


def test_check_names_a_pending_entry_nothing_would_ever_clear(
    infra: InfraSettings, engine: Engine, redis_client: Redis
) -> None:
    """The leak a lost void used to leave: out of the re-publish scan and the voids, a
    pending entry stays for ever and holds its sale in the recovery scan."""
    sale_id = create_sale(engine, infra, 5, "orphan")
    order, keys = placed(sale_id), SaleKeys(sale_id)
    redis_client.hset(keys.pending, str(order.order_id), encode(order))
    results = check_redis(engine, redis_client, int(time.time() * 1000), 60, sale_id)
    stale = next(r for r in results if r.name == "no_stale_pending")
    assert stale.violations == [{"sale_id": sale_id, "order_id": str(order.order_id)}]
    redis_client.zadd(keys.pending_at, {str(order.order_id): int(time.time() * 1000)})
    results = check_redis(engine, redis_client, int(time.time() * 1000), 60, sale_id)
    assert next(r for r in results if r.name == "no_stale_pending").ok  # in the scan: fine
