"""Run the order service: `python -m order_service` (host and port from
FLASHSALE_ORDER_SERVICE_HOST and FLASHSALE_ORDER_SERVICE_PORT)."""

from __future__ import annotations

from flashsale.process import configure_logging, serve_asgi
from order_service.settings import OrderServiceSettings


def main() -> None:
    settings = OrderServiceSettings()  # fails here, before binding a port, without a token
    configure_logging("order_service")
    # The factory builds its own settings and bootstrap in the server's event loop.
    serve_asgi(
        "order_service.app:create_app",
        settings.host,
        settings.port,
        workers=settings.workers,
        header_timeout_s=settings.header_timeout_s,
        body_timeout_s=settings.body_timeout_s,
    )


if __name__ == "__main__":
    main()
