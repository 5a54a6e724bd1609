"""The order service's ASGI entry point: the raw edge middleware in front of FastAPI."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from flashsale.metrics import PrometheusMetrics
from order_service import admin, api, payment_api
from order_service.bootstrap import Services, bootstrap
from order_service.handlers import Answer
from order_service.settings import OrderServiceSettings
from order_service.shortcuts import FastAnswers

__all__ = ["create_api", "create_app"]

log = logging.getLogger(__name__)


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
    )
    app.state.services = services
    app.state.payments = services.payments
    app.include_router(api.router)
    app.include_router(payment_api.router)
    app.include_router(admin.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        # A producer hit by a fatal error fails every produce until it is replaced: the
        # load balancer should hear it, not see "ok" over a stream of 503s.
        if not services.deps.publisher.healthy:
            body = {"status": "degraded", "kafka_producer": "replacing after a fatal error"}
            return api.answer_response(Answer(503, body, retry_after=settings.retry_after_s))
        return api.answer_response(Answer(200, {"status": "ok"}))

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # Never echo the input back: it may not even be JSON-encodable (1e309 is inf).
        detail = [{"loc": e["loc"], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return api.answer_response(Answer(422, {"error": "invalid_request", "detail": detail}))

    @app.exception_handler(Exception)
    async def unavailable(request: Request, exc: Exception) -> Response:
        # Redis, PostgreSQL or anything else failing is our trouble, never the client's
        # input: the one 5xx a client sees is 503, with a hint when to come back.
        log.error("unavailable: %r", exc)
        return api.answer_response(
            Answer(503, {"error": "unavailable"}, retry_after=settings.retry_after_s)
        )

    return app


def create_app(
    settings: OrderServiceSettings | None = None, services: Services | None = None
) -> FastAnswers:
    settings = settings or OrderServiceSettings()
    services = services or bootstrap(settings, metrics=PrometheusMetrics())
    return FastAnswers(
        create_api(settings, services),
        services.deps.flags,
        max_in_flight=settings.max_in_flight,
        retry_after_s=settings.retry_after_s,
        max_body=settings.max_body_bytes,
        max_header=settings.max_header_bytes,
    )
