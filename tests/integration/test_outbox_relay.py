"""Several outbox relays at once: every row published exactly once (barring crashes), and
the events of each order in the order they were written."""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer
from sqlalchemy import Engine

from flashsale.contracts import OrderCancelled, OrderCreated, OrderPaid, decode_event
from flashsale.kafka import producer_config
from flashsale.outbox import OutboxEvent, add_to_outbox
from flashsale.settings import InfraSettings
from inventory_consumer.workers.relay import OutboxRelay
from tests.fulfilment_helpers import scalar
from tests.kafka_helpers import create_topic, read_topic
from tests.polling import eventually
from tests.random_refs import random_topic

pytestmark = pytest.mark.integration


class NoRedis:
    def release(self, sale_id: str, order_id: str, user_id: str, quantity: int) -> bool:
        return True


def test_three_relays_publish_each_row_once_in_order_per_order(
    infra: InfraSettings, engine: Engine
) -> None:
    topic = random_topic("events")
    create_topic(infra.kafka_bootstrap, topic, 6)
    orders = [uuid.uuid4() for _ in range(150)]
    now = datetime.now(UTC)
    for step in range(3):  # written in three rounds: Created, then Paid, then Cancelled
        events: list[OutboxEvent] = []
        for oid in orders:
            if step == 0:
                events.append(
                    OrderCreated(order_id=oid, sale_id="s", user_id="u", quantity=1, expires_at=now)
                )
            elif step == 1:
                events.append(OrderPaid(order_id=oid, sale_id="s", user_id="u"))
            else:
                events.append(
                    OrderCancelled(order_id=oid, sale_id="s", user_id="u", quantity=1, reason="r")
                )
        with engine.begin() as conn:
            add_to_outbox(conn, topic, events)

    def relay_until_empty() -> None:
        producer = Producer(producer_config(infra.kafka_bootstrap, "test-relay"))
        relay = OutboxRelay(engine, producer, topic, NoRedis(), batch=40)
        unsent = "SELECT count(*) FROM outbox WHERE topic = :t AND sent_at IS NULL"

        def relayed_all() -> bool:
            if not relay.relay_once():  # another relay holds the topic's lock: do not spin
                time.sleep(0.01)
            return not scalar(engine, unsent, t=topic)

        eventually(relayed_all, 60, "the outbox relayed", every_s=0)

    relays = [threading.Thread(target=relay_until_empty) for _ in range(3)]
    for thread in relays:
        thread.start()
    for thread in relays:
        thread.join(60)

    messages = read_topic(infra.kafka_bootstrap, topic, 450, timeout=30)
    assert len(messages) == 450
    seen: dict[uuid.UUID, list[str]] = defaultdict(list)
    for msg in sorted(messages, key=lambda m: (m.partition(), m.offset())):
        event = decode_event(msg.value())
        assert msg.key() == str(event.order_id).encode()
        seen[event.order_id].append(event.type)
    assert all(types == ["OrderCreated", "OrderPaid", "OrderCancelled"] for types in seen.values())
    assert set(seen) == set(orders)


class FlakyRedis:
    """Fails every Redis step of one order until told to recover."""

    def __init__(self, broken: str) -> None:
        self.broken = broken
        self.released: list[str] = []

    def release(self, sale_id: str, order_id: str, user_id: str, quantity: int) -> bool:
        if order_id == self.broken:
            raise ConnectionError("redis: connection refused")
        self.released.append(order_id)
        return True

    def reinstate(self, sale_id: str, order_id: str, user_id: str) -> None:
        pass


def test_one_order_whose_redis_step_fails_waits_while_the_others_go_on(
    infra: InfraSettings, engine: Engine
) -> None:
    topic = random_topic("events")
    create_topic(infra.kafka_bootstrap, topic, 3)
    stuck, others = uuid.uuid4(), [uuid.uuid4() for _ in range(5)]
    now = datetime.now(UTC)
    events: list[OutboxEvent] = []
    for oid in [stuck, *others]:
        events.append(
            OrderCreated(order_id=oid, sale_id="s", user_id="u", quantity=1, expires_at=now)
        )
        events.append(
            OrderCancelled(order_id=oid, sale_id="s", user_id="u", quantity=1, reason="r")
        )
    with engine.begin() as conn:
        add_to_outbox(conn, topic, events)
    redis = FlakyRedis(str(stuck))
    relay = OutboxRelay(engine, Producer(producer_config(infra.kafka_bootstrap, "t")), topic, redis)

    assert relay.relay_once() == 11  # all but the stuck order's cancellation
    assert relay.relay_once() == 0  # it waits: no gap, no reordering
    redis.broken = ""
    assert relay.relay_once() == 1

    messages = read_topic(infra.kafka_bootstrap, topic, 12, timeout=30)
    seen: dict[uuid.UUID, list[str]] = defaultdict(list)
    for msg in sorted(messages, key=lambda m: (m.partition(), m.offset())):
        event = decode_event(msg.value())
        seen[event.order_id].append(event.type)
    assert all(types == ["OrderCreated", "OrderCancelled"] for types in seen.values())
    assert set(seen) == {stuck, *others}
    assert sorted(redis.released) == sorted(map(str, [*others, stuck]))
