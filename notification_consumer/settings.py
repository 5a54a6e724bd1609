"""The notification consumer's settings: FLASHSALE_* env vars, no secret defaults."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from flashsale.settings import InfraSettings

__all__ = ["NotificationConsumerSettings"]


class NotificationConsumerSettings(InfraSettings):
    model_config = SettingsConfigDict(env_prefix="FLASHSALE_", extra="ignore")

    # The service's name in its Kafka client id.
    service_name: str = "notification_consumer"
    # Its own group: a new subscriber of order-events needs no change anywhere else.
    notification_group_id: str = "flashsale.notifications"
    # A batch is up to this many messages, or whatever arrived within batch_max_ms.
    batch_max_messages: int = Field(100, ge=1, le=10_000)
    # Milliseconds a batch waits to fill up.
    batch_max_ms: int = Field(200, ge=1, le=60_000)

    # A send is tried this many times (backoff + jitter) before the event goes to the DLQ.
    max_attempts: int = Field(4, ge=1, le=100)
    # Backoff step of the first retry of a send, in seconds (doubles each try, jittered).
    retry_base_s: float = Field(0.2, gt=0)
    # Largest backoff step between two tries of a send, in seconds.
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
    # SMTP port (1025: Mailpit's; `make up` sets 11025 for its local sink).
    smtp_port: int = 1025
    # The From: address of every email.
    smtp_sender: str = "flashsale@localhost"
    # Seconds an SMTP connect or command may take.
    smtp_timeout_s: float = Field(10.0, gt=0)
    # Recipients are derived from user ids: see notification_consumer/notices.py.
    email_domain: str = "example.com"
    # Where SMS and push notices are POSTed (None: no sms/push channel).
    webhook_url: str | None = None
    # Seconds a webhook POST may take.
    webhook_timeout_s: float = Field(5.0, gt=0)

    # Prometheus /metrics on this port (None: no listener). Named per consumer, so that one
    # env file serves both (a keyword argument, too, must use the variable's name).
    metrics_port: int | None = Field(None, validation_alias="FLASHSALE_NOTIFICATION_METRICS_PORT")
    # The listener's address: 0.0.0.0 in the compose stack, for Prometheus to scrape.
    metrics_host: str = Field("127.0.0.1", validation_alias="FLASHSALE_NOTIFICATION_METRICS_HOST")
