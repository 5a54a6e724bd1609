"""Settings every service shares. Each service subclasses `InfraSettings` with its own fields.

The defaults point at the local no-Docker infra (`make infra-up`), on loopback ports of
its own. Nothing secret has a default: secrets are required fields of the services that
use them.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import SecretStr, model_validator
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

    # Production: SASL_SSL (authenticated and encrypted), and broker ACLs that let each
    # service's principal do only its part: Read and Describe on the topics it consumes
    # and on its group, Write and Describe on the topics it produces to (orders: the order
    # service; order-events: the inventory relay; the DLQ: both consumers), and
    # IdempotentWrite on the cluster (acks=all idempotent producers). PLAINTEXT only on
    # loopback or an otherwise private network (the local infra).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    # SCRAM keeps the password off the wire; PLAIN sends it (only ever under SSL).
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    # The principal, required with SASL_*.
    kafka_sasl_username: str | None = None
    # Its password, required with SASL_* and never defaulted.
    kafka_sasl_password: SecretStr | None = None
    # CA bundle (PEM) that signed the brokers' certificates; None: the system's trust store.
    kafka_ssl_ca_location: str | None = None

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> Self:
        if self.kafka_security_protocol.startswith("SASL_") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"FLASHSALE_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs"
                " FLASHSALE_KAFKA_SASL_USERNAME and FLASHSALE_KAFKA_SASL_PASSWORD"
            )
        return self


class InfraSettings(KafkaSettings):
    # Redis URL: stock, buyers, pending, voids. In production Redis has `requirepass` or,
    # better, an ACL user of its own: redis://USER:PASSWORD@host:port/db (rediss:// with
    # TLS), and the `default` user off. The user needs `~* &* +@read +@write +@scripting
    # +@pubsub +@transaction +@connection`, never +@admin or +@dangerous (FLUSHALL, CONFIG,
    # DEBUG): tests/abuse/test_production_security.py runs the order service so.
    redis_url: str = "redis://127.0.0.1:16379/0"
    # SQLAlchemy URL of PostgreSQL, the record: sales, orders, outbox. In production the
    # services log in as a role that is not a superuser and owns no table: `flashsale init`
    # (the migrations) runs as the schema's owner, the services as e.g. `CREATE ROLE
    # flashsale_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE` granted only DML: SELECT,
    # INSERT, UPDATE, DELETE on the schema's tables and USAGE, SELECT on its sequences
    # (the outbox id). A stolen service login cannot drop or alter a table, read the
    # server's files or create roles (tests/abuse/test_production_security.py).
    database_url: str = "postgresql+psycopg://flashsale@127.0.0.1:15432/flashsale"
    # The Kafka client id (the consumers add host and pid); each service sets its own.
    service_name: str = "flashsale"
