"""Runs the dashboard: `python -m dashboard` (settings from FLASHSALE_* env vars)."""

from __future__ import annotations

from dashboard.settings import DashboardSettings
from flashsale.process import configure_logging, serve_asgi


def main() -> None:
    settings = DashboardSettings()
    configure_logging("dashboard")
    # uvicorn calls the factory, which bootstraps: in the worker, inside its event loop.
    serve_asgi("dashboard.app:create_app", settings.host, settings.port)


if __name__ == "__main__":
    main()
