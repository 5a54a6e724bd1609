"""Helpers for the fulfilment-path tests (issue 4): a sale in PostgreSQL and Redis, random
topics per test, OrderPlaced producers, the inventory consumer in a thread, bounded waits."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller
from confluent_kafka import Producer
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from flashsale.contracts import CreateSale, OrderPlaced, encode
from flashsale.db.sales import insert_sale
from flashsale.kafka import producer_config
from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys, load_sale
from inventory_consumer.bootstrap import InventoryConsumer, bootstrap
from inventory_consumer.settings import InventoryConsumerSettings
from notification_consumer.bootstrap import bootstrap as notification_bootstrap
from notification_consumer.settings import NotificationConsumerSettings
from tests.kafka_helpers import create_topic
from tests.net import free_port
from tests.random_refs import random_group, random_sale_id, random_topic, random_user_id


def create_sale(
    engine: Engine, infra: InfraSettings, stock: int, name: str = "", per_user_limit: int = 1
) -> str:
    """A fresh sale row in PostgreSQL, loaded into Redis like the admin API does."""
    sale_id = random_sale_id(name)
    now = datetime.now(UTC)
    sale = CreateSale(
        sale_id=sale_id,
        name=sale_id,
        stock=stock,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
        per_user_limit=per_user_limit,
    )
    with engine.begin() as conn:
        insert_sale(conn, sale)

    async def load() -> None:
        redis = AsyncRedis.from_url(infra.redis_url)
        await load_sale(redis, sale_id, stock, now, now + timedelta(hours=1), per_user_limit)
        await redis.aclose()

    # In a thread of its own: an async test has an event loop running in this one.
    loader = threading.Thread(target=asyncio.run, args=(load(),))
    loader.start()
    loader.join(10)
    return sale_id


def reserve_in_redis(redis_client: Any, sale_id: str, orders: Sequence[OrderPlaced]) -> None:
    """What reserve.lua does for each order: stock taken, the user recorded as a buyer."""
    keys = SaleKeys(sale_id)
    for order in orders:
        redis_client.decrby(keys.stock, order.quantity)
        redis_client.hset(keys.buyers, order.user_id, str(order.order_id))


def placed(sale_id: str, user_id: str | None = None, quantity: int = 1) -> OrderPlaced:
    return OrderPlaced(
        order_id=uuid.uuid4(),
        sale_id=sale_id,
        user_id=user_id or random_user_id(),
        quantity=quantity,
        placed_at=datetime.now(UTC),
    )


def produce(bootstrap_servers: str, topic: str, messages: Sequence[tuple[str, bytes]]) -> None:
    producer = Producer(producer_config(bootstrap_servers, "test-producer"))
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(30) == 0


def produce_orders(bootstrap_servers: str, topic: str, orders: Sequence[OrderPlaced]) -> None:
    produce(bootstrap_servers, topic, [(o.user_id, encode(o)) for o in orders])


def inventory_settings(
    infra: InfraSettings, partitions: int = 3, **overrides: Any
) -> InventoryConsumerSettings:
    """Settings with topics and a group of this test's own; the topics are created."""
    names = {
        "orders_topic": random_topic("orders"),
        "order_events_topic": random_topic("events"),
        "dlq_topic": random_topic("dlq"),
    }
    for name in names.values():
        create_topic(infra.kafka_bootstrap, name, partitions)
    defaults: dict[str, Any] = {
        **names,
        "kafka_bootstrap": infra.kafka_bootstrap,
        "redis_url": infra.redis_url,
        "database_url": infra.database_url,
        "inventory_group_id": random_group("inventory"),
        "retry_base_s": 0.01,
        "relay_interval_s": 0.05,
        # The expiry worker sweeps every sale of the shared DB: tests that do not test it
        # leave it off, and their orders never expire under another test's worker.
        "expiry_enabled": False,
        "order_ttl_s": 30 * 86_400,
    }
    return InventoryConsumerSettings(**{**defaults, **overrides})


@contextmanager
def running_inventory(
    settings: InventoryConsumerSettings, **fakes: Any
) -> Iterator[InventoryConsumer]:
    stop = threading.Event()
    app = bootstrap(settings, stop, **fakes)
    thread = threading.Thread(target=app.run, name="inventory-consumer", daemon=True)
    thread.start()
    try:
        yield app
    finally:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the consumer did not stop within 30 s"


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free loopback port; keeps every mail it accepts."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, _class=EmailMessage, policy=default_policy)
        with self._lock:
            self.mails.append(mail)
        return "250 OK"

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()

    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.mails)


def notification_settings(
    infra: InfraSettings, inventory: InventoryConsumerSettings, smtp_port: int, **overrides: Any
) -> NotificationConsumerSettings:
    defaults: dict[str, Any] = {
        "kafka_bootstrap": infra.kafka_bootstrap,
        "redis_url": infra.redis_url,
        "database_url": infra.database_url,
        "order_events_topic": inventory.order_events_topic,
        "dlq_topic": inventory.dlq_topic,
        "notification_group_id": random_group("notify"),
        "smtp_port": smtp_port,
        "email_domain": "shop.test",
        "retry_base_s": 0.01,
    }
    return NotificationConsumerSettings(**{**defaults, **overrides})


@contextmanager
def running_notifications(settings: NotificationConsumerSettings, **fakes: Any) -> Iterator[None]:
    stop = threading.Event()
    app = notification_bootstrap(settings, stop, **fakes)
    thread = threading.Thread(target=app.run, name="notification-consumer", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the notification consumer did not stop within 30 s"


def session_url(database_url: str, app: str, role: str | None = None, **options: str) -> str:
    """A database URL whose sessions a test can find (application_name) and tune (GUCs in
    `options`), optionally as another login role: faults scoped to one consumer."""
    query = {"application_name": app}
    if options:
        query["options"] = " ".join(f"-c {k}={v}" for k, v in options.items())
    url = make_url(database_url).update_query_dict(query)
    if role is not None:
        url = url.set(username=role)
    return url.render_as_string(hide_password=False)


def terminate_sessions(engine: Engine, app: str) -> int:
    """Drop every session of `app`, as a failover or a crashed server would."""
    sql = (
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = :a AND pid <> pg_backend_pid()"
    )
    with engine.begin() as conn:
        return int(conn.execute(text(sql), {"a": app}).scalar_one())
