"""Where the demo finds a running system: FLASHSALE_* env vars, else `.run/services.env`
(written by `make up`, read from the working directory), plus the shared infra settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from flashsale.settings import InfraSettings

__all__ = ["SERVICES_ENV", "DemoSettings"]

SERVICES_ENV = Path(".run/services.env")


class DemoSettings(InfraSettings):
    # Variables already in the environment win over the file (the e2e stack, a container).
    model_config = SettingsConfigDict(
        env_prefix="FLASHSALE_", extra="ignore", env_file=SERVICES_ENV
    )

    # Where the buyers go: the gateway's base URL (make up writes it).
    gateway_url: str
    # Where the demo creates its sale (POST /admin/sales).
    order_service_url: str
    # The order service's admin bearer token (make up generates one).
    admin_token: SecretStr
    # Where the local SMTP sink keeps its mail (make up); None: emails are not counted.
    maildir: Path | None = None
    # The live dashboard (make up), announced before the burst so a person can watch it.
    dashboard_url: str | None = None
