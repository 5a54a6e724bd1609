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

    kafka_bootstrap: str = "127.0.0.1:19092"
    orders_topic: str = "flashsale.orders"
    order_events_topic: str = "flashsale.order-events"
    dlq_topic: str = "flashsale.dlq"
    orders_partitions: int = 12
    order_events_partitions: int = 12
    dlq_partitions: int = 3
    # The inventory consumers' group: its lag is what the repair waits out, the checker
    # reports and the autoscaler scales on.
    inventory_group_id: str = "flashsale.inventory"
    # None: the broker's default.replication.factor (1 locally, 3 on the 3-broker cluster).
    replication_factor: int | None = None


class InfraSettings(KafkaSettings):
    redis_url: str = "redis://127.0.0.1:16379/0"
    database_url: str = "postgresql+psycopg://flashsale@127.0.0.1:15432/flashsale"
    # Sizes the metric label and the logs; services set it.
    service_name: str = "flashsale"
