"""The dashboard's settings: FLASHSALE_* env vars (the same ones `.run/services.env`
carries for the services it watches)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from flashsale.settings import InfraSettings

__all__ = ["DashboardSettings"]


class DashboardSettings(InfraSettings):
    # Fields named for the dashboard carry their variable's name as an alias (a keyword
    # argument, too, must use it): not populate_by_name, which would read FLASHSALE_PORT.
    model_config = SettingsConfigDict(env_prefix="FLASHSALE_", extra="ignore")

    # Address the dashboard listens on.
    host: str = Field("127.0.0.1", validation_alias="FLASHSALE_DASHBOARD_HOST")
    # TCP port the dashboard listens on.
    port: int = Field(18090, validation_alias="FLASHSALE_DASHBOARD_PORT")
    # The service's name in its Kafka client id.
    service_name: str = "dashboard"

    # Base URL of the gateway, whose /metrics counts requests by outcome.
    gateway_url: str = "http://127.0.0.1:18080"
    # Base URL of the order service, whose /metrics counts admissions by outcome.
    order_service_url: str = "http://127.0.0.1:18081"

    # The sale to watch (its stock, rows and checks); None: the stock of every active sale,
    # every order row, and the checks of the newest active sale.
    sale_id: str | None = Field(None, validation_alias="FLASHSALE_DASHBOARD_SALE_ID")

    # Seconds between two samples (what every chart's x step is).
    sample_interval_s: float = Field(
        1.0, gt=0, le=60, validation_alias="FLASHSALE_DASHBOARD_SAMPLE_INTERVAL_S"
    )
    # Seconds between two runs of the invariant checks (`flashsale check`: not cheap).
    check_interval_s: float = Field(
        5.0, gt=0, validation_alias="FLASHSALE_DASHBOARD_CHECK_INTERVAL_S"
    )
    # Check every sale rather than only the one being watched.
    check_all_sales: bool = Field(False, validation_alias="FLASHSALE_DASHBOARD_CHECK_ALL_SALES")
    # Samples kept and replayed to a browser that connects: the charts' time window.
    history: int = Field(300, ge=10, le=86_400, validation_alias="FLASHSALE_DASHBOARD_HISTORY")
    # Seconds an SSE response lasts before the browser reconnects (resuming after its
    # Last-Event-ID): a stopping server waits for open responses, so none is endless.
    stream_s: float = Field(10.0, gt=0, le=300, validation_alias="FLASHSALE_DASHBOARD_STREAM_S")
    # Seconds one read of a store (a scrape, a Kafka offsets round trip) may take.
    read_timeout_s: float = Field(
        2.0, gt=0, le=30, validation_alias="FLASHSALE_DASHBOARD_READ_TIMEOUT_S"
    )
