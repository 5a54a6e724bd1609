"""The order service's ASGI entry point."""

from __future__ import annotations

from fastapi import FastAPI

from order_service.settings import OrderServiceSettings

__all__ = ["create_app"]


def create_app(settings: OrderServiceSettings | None = None) -> FastAPI:
    settings = settings or OrderServiceSettings()
    app = FastAPI(title="flashsale order service")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
