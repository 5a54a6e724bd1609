"""Settings every service shares. Each service subclasses `InfraSettings` with its own fields.

The defaults point at the local no-Docker infra (`make infra-up`), on loopback ports of
its own. Nothing secret has a default: secrets are required fields of the services that
use them.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["InfraSettings", "KafkaSettings"]


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLASHSALE_", extra="ignore")

    # Kafka bootstrap servers: host:port, comma-separated.
    kafka_bootstrap: str = "127.0.0.1:19092"
    # Admission -> fulfilment: OrderPlaced and OrderVoided, keyed by user id.
    orders_topic: str = "flashsale.orders"
    # The outbox's events (OrderCreated, OrderPaid, ...), keyed by order id.
    order_events_topic: str = "flashsale.order-events"
    # Dead letters of both consumers, with headers naming where they came from.
    dlq_topic: str = "flashsale.dlq"
    # Partitions of the orders topic: at most this many inventory consumers do work.
    orders_partitions: int = 12
    # Partitions of the order-events topic, when `flashsale init` creates it.
    order_events_partitions: int = 12
    # Partitions of the DLQ topic, when `flashsale init` creates it.
    dlq_partitions: int = 3
    # The inventory consumers' group: its lag is what the repair waits out, the checker
    # reports and the autoscaler scales on.
    inventory_group_id: str = "flashsale.inventory"
    # None: the broker's default.replication.factor (1 locally, 3 on the 3-broker cluster).
    replication_factor: int | None = None


class InfraSettings(KafkaSettings):
    # Redis URL (redis://[:password@]host:port/db): stock, buyers, pending, voids.
    redis_url: str = "redis://127.0.0.1:16379/0"
    # SQLAlchemy URL of PostgreSQL, the record: sales, orders, outbox.
    database_url: str = "postgresql+psycopg://flashsale@127.0.0.1:15432/flashsale"
    # The Kafka client id (the consumers add host and pid); each service sets its own.
    service_name: str = "flashsale"
