"""The notification consumer's settings: FLASHSALE_* env vars, no secret defaults."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from flashsale.settings import InfraSettings

__all__ = ["NotificationConsumerSettings"]


class NotificationConsumerSettings(InfraSettings):
    model_config = SettingsConfigDict(env_prefix="FLASHSALE_", extra="ignore")

    service_name: str = "notification_consumer"
    # Its own group: a new subscriber of order-events needs no change anywhere else.
    notification_group_id: str = "flashsale.notifications"
    batch_max_messages: int = Field(100, ge=1, le=10_000)
    batch_max_ms: int = Field(200, ge=1, le=60_000)

    # A send is tried this many times (backoff + jitter) before the event goes to the DLQ.
    max_attempts: int = Field(4, ge=1, le=100)
    retry_base_s: float = Field(0.2, gt=0)
    retry_cap_s: float = Field(5.0, gt=0)
    # A claimed notice whose outcome was not recorded within this lease belongs to a
    # consumer that died between claim and record: a redelivery claims and sends it. Keep
    # it above a send's worst case (max_attempts x smtp_timeout_s, plus backoff), or a slow
    # claimant may be overtaken and the receiver see a copy (same Message-ID).
    claim_lease_s: float = Field(60.0, gt=0)

    # Which channel carries each kind: "email" (SMTP) or "sms"/"push" (the webhook).
    kind_channels: dict[str, str] = {
        "order_created": "email",
        "order_paid": "email",
        "order_cancelled": "email",
    }
    # Local Mailpit/aiosmtpd by default; a real relay needs host/port of its own.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_sender: str = "flashsale@localhost"
    smtp_timeout_s: float = Field(10.0, gt=0)
    # Recipients are derived from user ids: see notification_consumer/notices.py.
    email_domain: str = "example.com"
    webhook_url: str | None = None
    webhook_timeout_s: float = Field(5.0, gt=0)

    # Prometheus /metrics on this port (None: no listener). Named per consumer, so that one
    # env file serves both (a keyword argument, too, must use the variable's name).
    metrics_port: int | None = Field(None, validation_alias="FLASHSALE_NOTIFICATION_METRICS_PORT")
    # The listener's address: 0.0.0.0 in the compose stack, for Prometheus to scrape.
    metrics_host: str = Field("127.0.0.1", validation_alias="FLASHSALE_NOTIFICATION_METRICS_HOST")
