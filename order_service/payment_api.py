"""POST /api/orders/{order_id}/payment: thin. Path -> PayOrder -> Payments -> HTTP.

Wiring (order_service/app.py): `app.state.payments = Payments(engine, events_topic)` and
`app.include_router(payment_api.router)`. The route is sync: FastAPI runs it in its
thread pool, which suits the synchronous SQLAlchemy engine.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from flashsale.contracts import PayOrder
from order_service.api import EDGE_ERRORS, Identity, error
from order_service.payments import PaymentOutcome, Payments

__all__ = ["get_payments", "router"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api")

STATUS_CODES = {
    PaymentOutcome.PAID: 200,
    PaymentOutcome.ALREADY_PAID: 200,
    PaymentOutcome.NOT_OWNER: 403,
    PaymentOutcome.NOT_FOUND: 404,
    PaymentOutcome.EXPIRED: 409,
    PaymentOutcome.CANCELLED: 409,
    PaymentOutcome.FAILED: 409,
}


def get_payments(request: Request) -> Payments | None:
    payments: Payments | None = request.app.state.payments
    return payments


@router.post(
    "/orders/{order_id}/payment",
    responses={
        **EDGE_ERRORS,
        403: error("not_order_owner: the order is not X-Authenticated-User's"),
        404: error("order_not_found: unknown, or not yet written (PENDING)"),
        409: error("order_expired, order_cancelled or order_failed"),
    },
)
def pay_order(
    order_id: uuid.UUID,
    payments: Annotated[Payments | None, Depends(get_payments)],
    identity: Identity = None,
) -> JSONResponse:
    """With an identity, only the order's owner may pay it."""
    if payments is None:  # wired without a database (unit tests with fakes)
        return JSONResponse({"error": "unavailable"}, status_code=503, headers={"Retry-After": "1"})
    try:
        result = payments.pay(PayOrder(order_id=order_id), payer=identity)
    except DBAPIError as exc:  # the database is down: our trouble, say when to retry
        log.error("payment unavailable: %r", exc)
        return JSONResponse({"error": "unavailable"}, status_code=503, headers={"Retry-After": "1"})
    code = STATUS_CODES[result.outcome]
    if code == 200:
        body = {
            "order_id": str(order_id),
            "status": "PAID",
            "already_paid": result.outcome is PaymentOutcome.ALREADY_PAID,
        }
    else:
        body = {"order_id": str(order_id), "error": result.outcome.value}
    return JSONResponse(body, status_code=code)
