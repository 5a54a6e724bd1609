from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["GatewaySettings"]


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLASHSALE_GATEWAY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 18080
    order_service_url: str = "http://127.0.0.1:18081"
