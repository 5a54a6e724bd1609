"""What the operators' tools read: /healthz for the load balancer, /metrics for
Prometheus. Neither is part of the API's docs."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from flashsale.metrics import exposition
from order_service.handlers import Answer
from order_service.routes.deps import HandlerDeps
from order_service.routes.responses import answer_response, unavailable

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz(deps: HandlerDeps) -> Response:
    # A producer hit by a fatal error fails every produce until it is replaced: the
    # load balancer should hear it, not see "ok" over a stream of 503s.
    if not deps.publisher.healthy:
        body = {"status": "degraded", "kafka_producer": "replacing after a fatal error"}
        return unavailable(deps.retry_after_s, body)
    return answer_response(Answer(200, {"status": "ok"}))


@router.get("/metrics")
async def metrics() -> Response:
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
