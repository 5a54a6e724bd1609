"""The order service's settings: FLASHSALE_* env vars, no secret defaults."""

from __future__ import annotations

import secrets
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from flashsale.settings import InfraSettings

__all__ = ["MIN_ADMIN_TOKEN_LENGTH", "OrderServiceSettings"]

# A shorter token is guessable or a placeholder ("changeme"); an empty one would match an
# empty bearer and turn the admin router's auth off.
MIN_ADMIN_TOKEN_LENGTH = 16


class OrderServiceSettings(InfraSettings):
    model_config = SettingsConfigDict(env_prefix="FLASHSALE_", extra="ignore")

    # Address it listens on. Named for the service (not FLASHSALE_HOST/_PORT): the variables
    # infra/local/services.sh reads.
    host: str = Field("127.0.0.1", validation_alias="FLASHSALE_ORDER_SERVICE_HOST")
    # TCP port the order service listens on.
    port: int = Field(18081, validation_alias="FLASHSALE_ORDER_SERVICE_PORT")
    # Worker processes on that port (flashsale/workers.py): one per core the service may
    # use. Each keeps its own sold-out flags (all follow the Redis stock channel).
    workers: int = Field(1, ge=1, le=64)
    # The service's name in its Kafka client id.
    service_name: str = "order_service"

    # Bearer token of the /admin router. Required unless dev_mode, where a random one is
    # made up at start (and logged): there is never a guessable default.
    admin_token: SecretStr | None = None
    # Local use only: with no admin token, make up a random one at start.
    dev_mode: bool = False

    # Soft limit: requests being handled at once, beyond which the service answers 503 at
    # once rather than queue without bound (each in-flight request holds a Kafka wait).
    max_in_flight: int = Field(512, ge=1, le=100_000)
    # Retry-After seconds of every 503 the order service answers.
    retry_after_s: int = Field(1, ge=1, le=60)
    # Largest request body in bytes; over it, a 413 at the edge.
    max_body_bytes: int = Field(4096, ge=256, le=1_048_576)
    # Names plus values of every request header; over it, a precomputed 431 at the edge.
    max_header_bytes: int = Field(8192, ge=1024, le=1_048_576)
    # Slow clients (Slowloris): seconds a client has to send its request headers, then
    # its body; past either the connection is closed (flashsale/slow_clients.py).
    header_timeout_s: float = Field(10.0, gt=0, le=300)
    # Seconds from the end of the headers to the end of the body.
    body_timeout_s: float = Field(30.0, gt=0, le=300)
    # Redis connections per process; a request beyond them waits up to the timeout
    # (a pool that fails at once would turn a burst into 503s).
    redis_pool_size: int = Field(64, ge=2, le=10_000)
    # Seconds a request waits for a free Redis connection.
    redis_pool_timeout_s: float = Field(2.0, gt=0, le=30)

    # A produce that gets no delivery report within this time fails: the client gets a
    # 503 and the reservation is voided. A few seconds: a client must never hang.
    kafka_delivery_timeout_ms: int = Field(5000, ge=500, le=30_000)
    # How long the producer waits to fill a batch. Every buyer awaits its own message's
    # acknowledgement, so this wait is on each admission's latency, and with a fixed
    # number of clients on its throughput too: measured at 50 connections, 1 ms gave
    # 17% more admissions than the 5 ms the other producers use. Under a stampede the
    # batches fill anyway, from the messages that arrive while one is in flight.
    kafka_linger_ms: float = Field(1.0, ge=0, le=1000)
    # After a failed produce, answer 503 at once for this long instead of making every
    # buyer wait a whole delivery timeout; then one request probes Kafka again.
    kafka_breaker_cooldown_s: float = Field(2.0, gt=0, le=60)

    # Pending reservations older than this were never acknowledged: the request that
    # made them died. Must exceed the delivery timeout, or recovery would re-publish an
    # order whose request is still waiting for its ack (harmless, but wasteful).
    recovery_after_s: float = Field(10.0, ge=1, le=3600)
    # Seconds between two rounds of the recovery loop.
    recovery_interval_s: float = Field(2.0, gt=0, le=300)
    # Pending reservations and voids re-published per round, at most.
    recovery_batch: int = Field(200, ge=1, le=10_000)
    # A sale that ended this long ago, with nothing left to publish, leaves the recovery
    # scan; checked every `prune_every_rounds` rounds (it reads every sale).
    prune_ended_after_s: float = Field(3600.0, ge=60, le=30 * 86_400)
    # Recovery rounds between two prunes of ended sales.
    prune_every_rounds: int = Field(30, ge=1, le=100_000)
    # This process's index among FLASHSALE_WORKERS, set by the worker supervisor
    # (flashsale/workers.py): one recovery loop per service is enough, in worker 0.
    worker_index: int = Field(0, ge=0, le=1024)

    # How long the local sold-out flag is believed without asking Redis again. Pub/sub
    # "release" clears it at once; the TTL covers a lost pub/sub message.
    sold_out_ttl_s: float = Field(1.0, gt=0, le=60)
    # Seconds an Idempotency-Key's stored answer is kept.
    idempotency_ttl_s: int = Field(86_400, ge=60, le=30 * 86_400)
    # Seconds the order-id -> sale-id pointer is kept (GET /api/orders).
    order_pointer_ttl_s: int = Field(7 * 86_400, ge=60, le=90 * 86_400)

    @field_validator("admin_token")
    @classmethod
    def _strong_enough(cls, token: SecretStr | None) -> SecretStr | None:
        # Refused even in dev mode: a set token is meant, and an empty one disables auth.
        if token is not None and len(token.get_secret_value().strip()) < MIN_ADMIN_TOKEN_LENGTH:
            raise ValueError(
                f"FLASHSALE_ADMIN_TOKEN must hold at least {MIN_ADMIN_TOKEN_LENGTH}"
                " non-blank characters (unset it in dev mode for a random one)"
            )
        return token

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.admin_token is None:
            if not self.dev_mode:
                raise ValueError(
                    "FLASHSALE_ADMIN_TOKEN is required (set FLASHSALE_DEV_MODE=true for local use)"
                )
            self.admin_token = SecretStr(secrets.token_urlsafe(24))
        if self.recovery_after_s * 1000 <= self.kafka_delivery_timeout_ms:
            raise ValueError("recovery_after_s must exceed the Kafka delivery timeout")
        if self.kafka_linger_ms >= self.kafka_delivery_timeout_ms:  # librdkafka refuses it
            raise ValueError("kafka_linger_ms must be below the Kafka delivery timeout")
        return self
