from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from flashsale.settings import InfraSettings

__all__ = ["OrderServiceSettings"]


class OrderServiceSettings(InfraSettings):
    model_config = SettingsConfigDict(env_prefix="FLASHSALE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 18081
    service_name: str = "order_service"
