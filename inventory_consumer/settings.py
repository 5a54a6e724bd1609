"""The inventory consumer's settings: FLASHSALE_* env vars, no secret defaults."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from flashsale.settings import InfraSettings

__all__ = ["InventoryConsumerSettings"]


class InventoryConsumerSettings(InfraSettings):
    model_config = SettingsConfigDict(env_prefix="FLASHSALE_", extra="ignore")

    # The service's name in its Kafka client id.
    service_name: str = "inventory_consumer"

    # A batch is up to this many messages, or whatever arrived within batch_max_ms.
    batch_max_messages: int = Field(500, ge=1, le=10_000)
    # Milliseconds a batch waits to fill up.
    batch_max_ms: int = Field(100, ge=1, le=60_000)
    # Peak shaving: at most this many orders/s reach PostgreSQL (0: unthrottled). Sized to
    # what the DB sustains; under a burst the lag grows instead of the DB falling over.
    max_orders_per_second: float = Field(0, ge=0)

    # A message that failed this many times (not counting DB outages) goes to the DLQ.
    max_attempts: int = Field(5, ge=1, le=100)
    # Backoff step of the first retry of a write, in seconds (doubles each try, jittered).
    retry_base_s: float = Field(0.05, gt=0)
    # Largest backoff step between two tries of a write, in seconds.
    retry_cap_s: float = Field(5.0, gt=0)

    # Unpaid orders are cancelled after this long (15 min; seconds in tests and demos).
    order_ttl_s: float = Field(900, gt=0)
    # Seconds between two expiry rounds when there was nothing to cancel.
    expiry_interval_s: float = Field(1.0, gt=0)
    # Unpaid orders cancelled per expiry round, at most.
    expiry_batch: int = Field(500, ge=1)

    # The outbox relay runs as a thread of this process; several processes may run it.
    relay_enabled: bool = True
    # Run the expiry worker thread in this process.
    expiry_enabled: bool = True
    # Seconds between two relay rounds when the outbox was empty.
    relay_interval_s: float = Field(0.1, gt=0)
    # Outbox rows published per relay round, at most.
    relay_batch: int = Field(500, ge=1)

    # Prometheus /metrics on this port (None: no listener). Named per consumer, so that one
    # env file serves both (a keyword argument, too, must use the variable's name).
    metrics_port: int | None = Field(None, validation_alias="FLASHSALE_INVENTORY_METRICS_PORT")
    # The listener's address: 0.0.0.0 in the compose stack, for Prometheus to scrape.
    metrics_host: str = Field("127.0.0.1", validation_alias="FLASHSALE_INVENTORY_METRICS_HOST")
