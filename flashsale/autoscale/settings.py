"""The autoscaling supervisor's settings: FLASHSALE_POOL_* env vars. What the workers read
(topics, group, stores) is the consumer's own settings class, passed on in their env."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PoolSettings"]


class PoolSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLASHSALE_POOL_", extra="ignore")

    # Workers the pool never goes below (started at once).
    min_workers: int = Field(1, ge=1, le=1024)
    # Workers the pool never goes above; the topic's partition count caps it too.
    max_workers: int = Field(4, ge=1, le=1024)
    # Lag (messages) above which the pool grows, to ceil(lag / scale_up_lag) workers.
    scale_up_lag: int = Field(10_000, ge=1)
    # Lag below which the pool shrinks, one worker per cooldown.
    scale_down_lag: int = Field(1_000, ge=0)
    # Seconds the pool holds after each change, whatever the lag says.
    cooldown_s: float = Field(15.0, ge=0)
    # Seconds between two lag reads (and two writes of the lag to Redis).
    poll_s: float = Field(1.0, gt=0, le=60)
    # Seconds a worker gets to finish its batch after SIGTERM, before SIGKILL.
    stop_grace_s: float = Field(30.0, gt=0)
    # Prometheus /metrics of the pool and its workers, aggregated (None: no listener).
    metrics_port: int | None = None
    # The listener's address: 0.0.0.0 in a container, for Prometheus to scrape.
    metrics_host: str = "127.0.0.1"

    @model_validator(mode="after")
    def _bounds_make_sense(self) -> PoolSettings:
        if self.min_workers > self.max_workers:
            raise ValueError("FLASHSALE_POOL_MIN_WORKERS > FLASHSALE_POOL_MAX_WORKERS")
        if self.scale_down_lag >= self.scale_up_lag:
            raise ValueError("FLASHSALE_POOL_SCALE_DOWN_LAG must be below SCALE_UP_LAG")
        return self
