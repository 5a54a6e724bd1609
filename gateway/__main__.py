"""Runs the gateway: `python -m gateway` (settings from FLASHSALE_GATEWAY_* env vars)."""

from __future__ import annotations

from flashsale.process import configure_logging, serve_asgi
from gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    configure_logging("gateway")
    # uvicorn calls the factory, which bootstraps: in the worker, inside its event loop.
    serve_asgi(
        "gateway.app:create_app",
        settings.host,
        settings.port,
        workers=settings.workers,
        header_timeout_s=settings.header_timeout_s,
        body_timeout_s=settings.body_timeout_s,
    )


if __name__ == "__main__":
    main()
