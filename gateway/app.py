"""The gateway's ASGI entry point."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.settings import GatewaySettings

__all__ = ["create_app"]


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    app = FastAPI(title="flashsale gateway")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
