"""The public routes: turn HTTP into commands, call a handler, turn its Answer into HTTP."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from flashsale.contracts import SALE_ID_PATTERN, USER_ID_PATTERN, PlaceOrder
from order_service import handlers
from order_service.handlers import Answer, Deps

__all__ = [
    "EDGE_ERRORS",
    "ErrorBody",
    "Identity",
    "OrderToken",
    "PlaceOrderBody",
    "answer_response",
    "error",
    "router",
]

IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"


class PlaceOrderBody(BaseModel):
    # strict: "1" is not a quantity, and a field nobody defined is an error, not ignored.
    model_config = ConfigDict(extra="forbid", strict=True)

    user_id: Annotated[str, Field(pattern=USER_ID_PATTERN)]
    quantity: Annotated[int, Field(ge=1, le=1000)] = 1


class OrderToken(BaseModel):
    order_id: uuid.UUID
    status: str = "PENDING"
    status_url: str


class OrderState(BaseModel):
    order_id: uuid.UUID
    status: str


class ErrorBody(BaseModel):
    error: str
    order_id: uuid.UUID | None = None


def error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# What the edge (edge.py) and the app's handlers answer on any /api/ route.
EDGE_ERRORS: dict[int | str, dict[str, Any]] = {
    413: error("body_too_large"),
    422: error("invalid_request: the path, a header or the body is malformed"),
    431: error("headers_too_large: request headers over max_header_bytes"),
    503: error("overloaded, or a store down (unavailable); see Retry-After"),
}
ORDER_ERRORS: dict[int | str, dict[str, Any]] = {
    **EDGE_ERRORS,
    403: error("identity_mismatch: the body's user_id is not X-Authenticated-User"),
    404: error("unknown_sale"),
    409: error("sold_out, already_purchased (with order_id), sale_not_active"),
    422: error("invalid_request, or quantity_over_limit (with per_user_limit)"),
    503: error(
        "overloaded, kafka_unavailable, previous_attempt_voided, previous_attempt_pending,"
        " sale_under_repair, request_in_progress or unavailable; see Retry-After"
    ),
}
STATUS_ERRORS: dict[int | str, dict[str, Any]] = {
    **EDGE_ERRORS,
    403: error("not_order_owner: the order is not X-Authenticated-User's"),
    404: error("unknown_order"),
}
# Set by the gateway only when a trusted proxy authenticated the buyer (see the README).
Identity = Annotated[
    str | None,
    Header(alias="x-authenticated-user", description="the buyer the gateway vouches for"),
]

router = APIRouter(prefix="/api")


def deps_of(request: Request) -> Deps:
    deps: Deps = request.app.state.services.deps
    return deps


def answer_response(answer: Answer) -> Response:
    headers = {} if answer.retry_after is None else {"Retry-After": str(answer.retry_after)}
    return Response(
        orjson.dumps(answer.body),
        status_code=answer.status,
        media_type="application/json",
        headers=headers,
    )


@router.post(
    "/sales/{sale_id}/orders",
    status_code=202,
    response_model=OrderToken,
    responses=ORDER_ERRORS,
    summary="Buy: reserve stock; the order token comes only after Kafka acknowledged it",
)
async def place_order(
    request: Request,
    sale_id: Annotated[str, Path(pattern=SALE_ID_PATTERN)],
    body: PlaceOrderBody,
    idempotency_key: Annotated[
        str | None, Header(pattern=IDEMPOTENCY_KEY_PATTERN, description="same key, same answer")
    ] = None,
    identity: Identity = None,
) -> Response:
    command = PlaceOrder(sale_id=sale_id, user_id=body.user_id, quantity=body.quantity)
    answer = await handlers.place_order(command, idempotency_key, deps_of(request), identity)
    return answer_response(answer)


@router.get(
    "/orders/{order_id}",
    response_model=OrderState,
    responses=STATUS_ERRORS,
    summary="An order's state: PENDING, CREATED, PAID, CANCELLED or FAILED",
)
async def order_status(
    request: Request, order_id: uuid.UUID, identity: Identity = None
) -> Response:
    return answer_response(await handlers.order_status(order_id, deps_of(request), identity))
