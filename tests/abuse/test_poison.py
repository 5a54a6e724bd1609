"""Poison on every topic: random bytes, a wrong `version`, a missing field, an unknown
`type` and a 1 MB message, on the orders topic (the inventory consumer) and on the
order-events topic (the notification consumer). Each goes to the DLQ byte for byte with
its headers, and the partition moves on: the good message behind them is processed.

A 1 MB message needs room all the way: the topics' max.message.bytes (flashsale/topics.py)
and the DLQ producer's message.max.bytes (flashsale/dlq.py; librdkafka's default of
1,000,000 bytes would refuse its dead letter for ever and stop the partition).

tests/integration/test_fulfilment_dlq.py covers random bytes and a foreign-key refusal on
the orders topic; this adds the rest. Topics are the test's own, created with
max.message.bytes raised so that the 1 MB message (and its dead letter) fit."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from sqlalchemy import Engine

from flashsale.contracts import OrderCreated, encode
from flashsale.dlq import (
    H_ERROR,
    H_SOURCE_OFFSET,
    H_SOURCE_PARTITION,
    H_SOURCE_TOPIC,
    header,
)
from flashsale.kafka import producer_config
from flashsale.settings import InfraSettings
from tests.fulfilment_helpers import (
    SmtpSink,
    create_sale,
    inventory_settings,
    notification_settings,
    placed,
    reserve_in_redis,
    running_inventory,
    running_notifications,
    scalar,
)
from tests.kafka_helpers import read_topic
from tests.polling import eventually
from tests.random_refs import random_topic

pytestmark = pytest.mark.integration

BIG_TOPIC = {"max.message.bytes": str(2 * 1024 * 1024)}
BIG_PRODUCER = {"message.max.bytes": 2 * 1024 * 1024}


def big_topics(bootstrap: str) -> dict[str, str]:
    """Source and DLQ topics of one partition each that take a 1 MB message."""
    names = {"orders_topic": random_topic("orders"), "order_events_topic": random_topic("events"),
             "dlq_topic": random_topic("dlq")}  # fmt: skip
    admin = AdminClient({"bootstrap.servers": bootstrap})
    wanted = [NewTopic(n, num_partitions=1, replication_factor=-1, config=BIG_TOPIC)
              for n in names.values()]  # fmt: skip
    for future in admin.create_topics(wanted).values():
        future.result(30)
    return names


def poison(good: dict[str, Any]) -> list[bytes]:
    """The five kinds, each made from a good message's fields."""
    wrong_version = {**good, "version": 2}
    missing_field = {k: v for k, v in good.items() if k != "user_id"}
    unknown_type = {**good, "type": "OrderTeleported"}
    huge = {**good, "padding": "x" * (1024 * 1024)}
    return [
        os.urandom(64),
        *(orjson.dumps(m) for m in (wrong_version, missing_field, unknown_type, huge)),
    ]


def produce_all(bootstrap: str, topic: str, messages: list[tuple[str, bytes]]) -> None:
    producer = Producer(producer_config(bootstrap, "test-poison", **BIG_PRODUCER))
    for key, value in messages:
        producer.produce(topic, value, key)
    assert producer.flush(30) == 0


def assert_dead_lettered(bootstrap: str, dlq: str, source: str, sent: list[bytes]) -> None:
    dead = read_topic(bootstrap, dlq, len(sent), timeout=30)
    assert len(dead) == len(sent), f"{len(dead)} of {len(sent)} dead-lettered"
    by_offset = {int(header(m, H_SOURCE_OFFSET) or -1): m for m in dead}
    assert sorted(by_offset) == list(range(len(sent)))
    for offset, value in enumerate(sent):
        letter = by_offset[offset]
        assert letter.value() == value  # byte for byte, 1 MB included
        assert header(letter, H_SOURCE_TOPIC) == source
        assert header(letter, H_SOURCE_PARTITION) == "0"
        assert header(letter, H_ERROR)


def test_poison_on_the_orders_topic_is_dead_lettered_and_the_partition_moves_on(
    infra: InfraSettings, engine: Engine, redis_client: Any
) -> None:
    sale_id = create_sale(engine, infra, 2, "poison-orders")
    good = placed(sale_id)
    reserve_in_redis(redis_client, sale_id, [good])
    settings = inventory_settings(infra, partitions=1, **big_topics(infra.kafka_bootstrap))
    sent = poison(orjson.loads(encode(good)))
    stream = [*(("k", value) for value in sent), (good.user_id, encode(good))]
    produce_all(infra.kafka_bootstrap, settings.orders_topic, stream)
    status = "SELECT status FROM orders WHERE order_id = :o"
    with running_inventory(settings):
        eventually(lambda: scalar(engine, status, o=good.order_id) == "CREATED", 60, "the order")
        assert_dead_lettered(infra.kafka_bootstrap, settings.dlq_topic, settings.orders_topic, sent)


def test_poison_on_the_order_events_topic_is_dead_lettered_and_the_partition_moves_on(
    infra: InfraSettings, engine: Engine
) -> None:
    sale_id = create_sale(engine, infra, 1, "poison-events")
    order = placed(sale_id, user_id="erin")
    created = OrderCreated(order_id=order.order_id, sale_id=sale_id, user_id="erin",
                           quantity=1, expires_at=datetime.now(UTC))  # fmt: skip
    inventory = inventory_settings(infra, partitions=1, **big_topics(infra.kafka_bootstrap))
    sent = poison(orjson.loads(encode(created)))
    stream = [
        *((str(order.order_id), value) for value in sent),
        (str(order.order_id), encode(created)),
    ]
    produce_all(infra.kafka_bootstrap, inventory.order_events_topic, stream)
    with SmtpSink() as smtp:
        settings = notification_settings(infra, inventory, smtp.port)
        with running_notifications(settings):
            eventually(lambda: smtp.received(), 60, "the good message's email")
            assert_dead_lettered(
                infra.kafka_bootstrap, inventory.dlq_topic, inventory.order_events_topic, sent
            )
    assert [m["To"] for m in smtp.received()] == ["erin@shop.test"]
