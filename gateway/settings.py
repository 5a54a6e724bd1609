"""The gateway's settings: FLASHSALE_GATEWAY_* env vars."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["GatewaySettings"]


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLASHSALE_GATEWAY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 18080
    order_service_url: str = "http://127.0.0.1:18081"

    # The global bucket caps what reaches the order service; the per-client bucket stops
    # one client (user, else address) from taking the whole global rate.
    global_rate: float = Field(2000.0, gt=0)
    global_burst: int = Field(500, ge=1)
    client_rate: float = Field(2.0, gt=0)
    client_burst: int = Field(5, ge=1)
    max_clients: int = Field(200_000, ge=1)
    # Addresses or CIDRs whose X-Forwarded-For / X-Authenticated-User headers are believed.
    trusted_proxies: list[str] = Field(default_factory=list)

    # Several gateway replicas: a Redis-backed global bucket shared by all of them
    # (consulted only for requests the local buckets admitted). None: local only.
    shared_bucket_redis_url: str | None = None
    shared_bucket_key: str = "flashsale:gateway:global"

    sold_out_ttl_s: float = Field(1.0, gt=0, le=60)
    retry_after_s: int = Field(1, ge=1, le=60)
    max_body_bytes: int = Field(4096, ge=256, le=1_048_576)
    # Names plus values of every request header; over it, a precomputed 431 at the edge.
    max_header_bytes: int = Field(8192, ge=1024, le=1_048_576)

    # Tight upstream timeouts: a down order service costs a refused connect (instant) or
    # connect_timeout, which is 1 s because a busy order service accepts late under a
    # stampede; read_timeout only has to cover the order service's own Kafka wait.
    upstream_connect_timeout_s: float = Field(1.0, gt=0)
    upstream_read_timeout_s: float = Field(7.0, gt=0)
    upstream_pool_timeout_s: float = Field(0.5, gt=0)
    upstream_max_connections: int = Field(256, ge=1)
