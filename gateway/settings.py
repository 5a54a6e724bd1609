"""The gateway's settings: FLASHSALE_GATEWAY_* env vars."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["GatewaySettings"]


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLASHSALE_GATEWAY_", extra="ignore")

    # Address the gateway listens on.
    host: str = "127.0.0.1"
    # TCP port the gateway listens on.
    port: int = 18080
    # Worker processes on that port (flashsale/workers.py), one per core. The rates and
    # bursts below are the gateway's: each worker enforces its share of them.
    workers: int = Field(1, ge=1, le=64)
    # Base URL of the order service, where admitted /api/ requests go.
    order_service_url: str = "http://127.0.0.1:18081"

    # The global bucket caps what reaches the order service; the per-client bucket stops
    # one client (user, else address) from taking the whole global rate.
    global_rate: float = Field(2000.0, gt=0)
    # Tokens the global bucket holds: requests admitted at once after a lull.
    global_burst: int = Field(500, ge=1)
    # Requests per second one client may send, on average.
    client_rate: float = Field(2.0, gt=0)
    # Requests one client may send at once before its rate applies.
    client_burst: int = Field(5, ge=1)
    # Per-client buckets kept in memory, at most; when full, idle ones are dropped first.
    max_clients: int = Field(200_000, ge=1)
    # Addresses or CIDRs whose X-Forwarded-For / X-Authenticated-User headers are believed.
    trusted_proxies: list[str] = Field(default_factory=list)

    # Several gateway replicas: a Redis-backed global bucket shared by all of them
    # (consulted only for requests the local buckets admitted). None: local only.
    shared_bucket_redis_url: str | None = None
    # Redis key of the shared global bucket (one per gateway fleet).
    shared_bucket_key: str = "flashsale:gateway:global"

    # Seconds a sale's sold-out flag (learnt from a 409) is believed.
    sold_out_ttl_s: float = Field(1.0, gt=0, le=60)
    # Retry-After seconds of the gateway's own 503 (order service down).
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

    # Tight upstream timeouts: a down order service costs a refused connect (instant) or
    # connect_timeout, which is 1 s because a busy order service accepts late under a
    # stampede; read_timeout only has to cover the order service's own Kafka wait.
    upstream_connect_timeout_s: float = Field(1.0, gt=0)
    # Seconds to wait for the order service's answer.
    upstream_read_timeout_s: float = Field(7.0, gt=0)
    # Seconds to wait for a free pooled upstream connection.
    upstream_pool_timeout_s: float = Field(0.5, gt=0)
    # Pooled connections to the order service, at most.
    upstream_max_connections: int = Field(256, ge=1)
    # The client that forwards to the order service: "raw" (adapters/raw_upstream.py,
    # asyncio + httptools, the cheaper one per request) or "aiohttp" (adapters/upstream.py).
    upstream_client: Literal["raw", "aiohttp"] = "raw"

    # Backpressure: when the consumers cannot keep up, the gateway slows down. Redis URL
    # where the autoscaling supervisor writes the inventory group's lag; None: off.
    lag_redis_url: str | None = None
    # Redis key holding that lag (an integer, 10 s TTL; missing: unknown, rate unchanged).
    lag_key: str = "flashsale:lag:flashsale.inventory"
    # Lag (messages) above which the global rate is lowered.
    backpressure_high_lag: int = Field(50_000, ge=1)
    # Lag below which the global rate is restored; in between, nothing changes.
    backpressure_low_lag: int = Field(10_000, ge=0)
    # What the global rate is multiplied by while backpressure is engaged.
    backpressure_factor: float = Field(0.25, gt=0, le=1)
    # Seconds between two readings of the lag.
    lag_poll_s: float = Field(1.0, gt=0)

    # Bot deterrent (gateway/proof_of_work.py): a purchase needs a hashcash proof that the
    # waiting-room page computes in the browser. Off by default.
    pow_enabled: bool = False
    # HMAC key of the challenges, at least 32 characters; required when pow_enabled (no
    # default: anyone who knows it can make challenges). Every replica needs the same one.
    pow_secret: SecretStr | None = None
    # Leading zero bits the proof's SHA-256 must have: each bit doubles the work (16 bits
    # are about 65,000 hashes, a second or less in a browser).
    pow_difficulty_bits: int = Field(16, ge=1, le=32)
    # Seconds a challenge lasts; a proof of the current or the previous window is accepted.
    pow_window_s: int = Field(300, ge=10, le=86_400)

    @model_validator(mode="after")
    def _low_mark_under_high_mark(self) -> Self:
        if self.backpressure_low_lag > self.backpressure_high_lag:
            raise ValueError("backpressure_low_lag must not be above backpressure_high_lag")
        return self

    @model_validator(mode="after")
    def _pow_needs_a_secret(self) -> Self:
        secret = self.pow_secret.get_secret_value() if self.pow_secret else ""
        if self.pow_enabled and len(secret.strip()) < 32:
            raise ValueError(
                "FLASHSALE_GATEWAY_POW_ENABLED needs FLASHSALE_GATEWAY_POW_SECRET,"
                " at least 32 characters (e.g. openssl rand -hex 32)"
            )
        return self
