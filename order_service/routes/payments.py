"""POST /api/orders/{order_id}/payment: thin. Path -> PayOrder -> handlers.pay_order -> HTTP.

The route is sync: FastAPI runs it in its thread pool, which suits the synchronous
SQLAlchemy engine behind the payments port.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError

from flashsale.contracts import PayOrder
from order_service import handlers
from order_service.routes.deps import HandlerDeps, Identity
from order_service.routes.responses import EDGE_ERRORS, answer_response, error, unavailable

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api")


@router.post(
    "/orders/{order_id}/payment",
    responses={
        **EDGE_ERRORS,
        403: error("not_order_owner: the order is not X-Authenticated-User's"),
        404: error("order_not_found: unknown, or not yet written (PENDING)"),
        409: error("order_expired, order_cancelled or order_failed"),
    },
)
def pay_order(order_id: uuid.UUID, deps: HandlerDeps, identity: Identity = None) -> Response:
    """With an identity, only the order's owner may pay it."""
    try:
        answer = handlers.pay_order(PayOrder(order_id=order_id), deps, payer=identity)
    except DBAPIError as exc:  # the database is down: our trouble, say when to retry
        log.error("payment unavailable: %r", exc)
        return unavailable(deps.retry_after_s)
    return answer_response(answer)
