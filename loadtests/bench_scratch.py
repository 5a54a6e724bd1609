"""A bench's scratch sale and Kafka topics, and their removal: what the consumer and cap
benches share (`scratch`). Every bench leaves the dev stack as it found it, since the next
run measures on it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from sqlalchemy import Engine, text

from flashsale.contracts import CreateSale
from flashsale.db.sales import insert_sale
from flashsale.settings import InfraSettings
from inventory_consumer.settings import InventoryConsumerSettings

__all__ = ["count_orders", "scratch", "suffix"]

log = logging.getLogger(__name__)


def suffix() -> str:
    return uuid.uuid4().hex[:10]


@contextmanager
def scratch(
    infra: InfraSettings, engine: Engine, consumer: InventoryConsumerSettings, stock: int
) -> Iterator[str]:
    """A fresh sale of `stock` units and the consumer's orders topic for one run; after
    it, none of the run's rows, topics or consumer group."""
    sale_id = _fresh_sale(engine, stock)
    try:
        _create_topic(infra, consumer.orders_topic)
        yield sale_id
    finally:
        _forget(engine, sale_id, consumer.order_events_topic)
        _drop_topics(infra, consumer.orders_topic, consumer.order_events_topic)
        _drop_group(infra, consumer.inventory_group_id)


def _fresh_sale(engine: Engine, stock: int) -> str:
    sale_id = f"bench-{suffix()}"
    now = datetime.now(UTC)
    with engine.begin() as conn:
        insert_sale(
            conn,
            CreateSale(
                sale_id=sale_id,
                name="bench",
                stock=stock,
                starts_at=now,
                ends_at=now + timedelta(hours=1),
            ),
        )
    return sale_id


def _create_topic(infra: InfraSettings, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": infra.kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=12, replication_factor=-1)])[topic].result(
        30
    )


def _drop_topics(infra: InfraSettings, *topics: str) -> None:
    """Delete a bench's own topics: left behind, every run added a dozen partitions to the
    dev broker (thousands after a few weeks), which slowed the broker the next run measures."""
    admin = AdminClient({"bootstrap.servers": infra.kafka_bootstrap})
    for future in admin.delete_topics(list(topics)).values():
        try:
            future.result(30)
        except KafkaException as exc:  # never created (the events topic of a relay-less run)
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise


def _drop_group(infra: InfraSettings, group: str) -> None:
    """Delete a bench's consumer group, best effort: a member still leaving keeps it, and
    Kafka expires an empty group's offsets anyway."""
    admin = AdminClient({"bootstrap.servers": infra.kafka_bootstrap})
    try:
        admin.delete_consumer_groups([group])[group].result(30)
    except KafkaException as exc:
        log.info("kept consumer group %s: %s", group, exc)


def count_orders(engine: Engine, sale_id: str) -> int:
    """The orders of a bench sale in the DB. One row read, not a count: the consumer takes
    a created order's stock in the transaction that inserts it, so the units gone from the
    sale are its committed orders (one unit each, every user fresh). Counting 40K fresh
    rows (no visibility map yet, a heap fetch each) cost 7-9 ms of the cores being
    measured at every poll."""
    with engine.connect() as conn:
        sold = conn.execute(
            text("SELECT total_stock - remaining_stock FROM sales WHERE sale_id = :s"),
            {"s": sale_id},
        ).scalar_one()
        return int(sold)


def _forget(engine: Engine, sale_id: str, events_topic: str) -> None:
    """Leave no row behind: no relay runs here to send the outbox, and orders piling up
    run after run would slow the next run's inserts (bigger indexes to keep in memory).
    Then vacuum, untimed, so the deleted rows wake no autovacuum during the next run
    (its own inserts still may, as they would in production)."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM outbox WHERE topic = :t"), {"t": events_topic})
        conn.execute(text("DELETE FROM orders WHERE sale_id = :s"), {"s": sale_id})
        conn.execute(text("DELETE FROM sales WHERE sale_id = :s"), {"s": sale_id})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM outbox, orders, sales"))
