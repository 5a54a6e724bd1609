"""The public order routes: turn HTTP into commands, call a handler, turn its Answer into
HTTP."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from flashsale.contracts import SALE_ID_PATTERN, PlaceOrder, Quantity, UserId
from order_service import handlers
from order_service.routes.deps import HandlerDeps, Identity
from order_service.routes.responses import EDGE_ERRORS, answer_response, error

__all__ = ["OrderState", "OrderToken", "PlaceOrderBody", "router"]

IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"


class PlaceOrderBody(BaseModel):
    # strict: "1" is not a quantity, and a field nobody defined is an error, not ignored.
    model_config = ConfigDict(extra="forbid", strict=True)

    user_id: UserId
    quantity: Quantity = 1


class OrderToken(BaseModel):
    order_id: uuid.UUID
    status: str = "PENDING"
    status_url: str


class OrderState(BaseModel):
    order_id: uuid.UUID
    status: str


ORDER_ERRORS: dict[int | str, dict[str, Any]] = {
    **EDGE_ERRORS,
    403: error("identity_mismatch: the body's user_id is not X-Authenticated-User"),
    404: error("unknown_sale"),
    409: error("sold_out, already_purchased (with order_id), sale_not_active"),
    422: error("invalid_request, or quantity_over_limit (with per_user_limit)"),
    503: error(
        "overloaded, kafka_unavailable, previous_attempt_voided, previous_attempt_pending,"
        " sale_under_repair, request_in_progress or unavailable",
        retry=True,
    ),
}
STATUS_ERRORS: dict[int | str, dict[str, Any]] = {
    **EDGE_ERRORS,
    403: error("not_order_owner: the order is not X-Authenticated-User's"),
    404: error("unknown_order"),
}

router = APIRouter(prefix="/api")


@router.post(
    "/sales/{sale_id}/orders",
    status_code=202,
    response_model=OrderToken,
    responses=ORDER_ERRORS,
    summary="Buy: reserve stock; the order token comes only after Kafka acknowledged it",
)
async def place_order(
    sale_id: Annotated[str, Path(pattern=SALE_ID_PATTERN)],
    body: PlaceOrderBody,
    deps: HandlerDeps,
    idempotency_key: Annotated[
        str | None, Header(pattern=IDEMPOTENCY_KEY_PATTERN, description="same key, same answer")
    ] = None,
    identity: Identity = None,
) -> Response:
    command = PlaceOrder(sale_id=sale_id, user_id=body.user_id, quantity=body.quantity)
    return answer_response(await handlers.place_order(command, idempotency_key, deps, identity))


@router.get(
    "/orders/{order_id}",
    response_model=OrderState,
    responses=STATUS_ERRORS,
    summary="An order's state: PENDING, CREATED, PAID, CANCELLED or FAILED",
)
async def order_status(
    order_id: uuid.UUID, deps: HandlerDeps, identity: Identity = None
) -> Response:
    return answer_response(await handlers.order_status(order_id, deps, identity))
