"""The order service's ASGI entry point: the raw edge middleware in front of FastAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from flashsale.metrics import PrometheusMetrics
from order_service.bootstrap import Services, bootstrap
from order_service.routes import admin, ops, orders, payments
from order_service.routes.purchase import PurchaseRoute
from order_service.routes.responses import EXCEPTION_HANDLERS
from order_service.settings import OrderServiceSettings
from order_service.shortcuts import FastAnswers

__all__ = ["create_api", "create_app"]


def create_api(settings: OrderServiceSettings, services: Services) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.start()
        try:
            yield
        finally:
            await services.stop()

    app = FastAPI(
        title="flashsale order service",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.services = services  # what every route reads, through routes/deps.py
    for module in (orders, payments, admin, ops):
        app.include_router(module.router)
    return app


def create_app(
    settings: OrderServiceSettings | None = None, services: Services | None = None
) -> FastAnswers:
    settings = settings or OrderServiceSettings()
    metrics = PrometheusMetrics(service="order_service")  # /metrics lists every family now
    services = services or bootstrap(settings, metrics=metrics)
    # The purchase route skips the framework for valid requests (routes/purchase.py).
    api = create_api(settings, services)
    routed = PurchaseRoute(api, services.deps, settings.max_body_bytes, settings.retry_after_s)
    return FastAnswers(
        routed,
        services.deps.flags,
        max_in_flight=settings.max_in_flight,
        retry_after_s=settings.retry_after_s,
        max_body=settings.max_body_bytes,
        max_header=settings.max_header_bytes,
        on_sold_out=services.deps.metrics.sold_out.inc,
    )
