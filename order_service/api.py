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

__all__ = ["ErrorBody", "OrderToken", "PlaceOrderBody", "answer_response", "router"]

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


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "unknown sale"},
    409: {"model": ErrorBody, "description": "sold_out, already_purchased, sale_not_active"},
    413: {"model": ErrorBody, "description": "body too large"},
    503: {
        "model": ErrorBody,
        "description": "overloaded, Kafka down or previous_attempt_voided; see Retry-After",
    },
}

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
    responses=ERRORS,
    summary="Buy: reserve stock; the order token comes only after Kafka acknowledged it",
)
async def place_order(
    request: Request,
    sale_id: Annotated[str, Path(pattern=SALE_ID_PATTERN)],
    body: PlaceOrderBody,
    idempotency_key: Annotated[
        str | None, Header(pattern=IDEMPOTENCY_KEY_PATTERN, description="same key, same answer")
    ] = None,
) -> Response:
    command = PlaceOrder(sale_id=sale_id, user_id=body.user_id, quantity=body.quantity)
    return answer_response(await handlers.place_order(command, idempotency_key, deps_of(request)))


@router.get(
    "/orders/{order_id}",
    response_model=OrderState,
    responses={404: {"model": ErrorBody, "description": "unknown order"}},
    summary="An order's state: PENDING, CREATED, PAID, CANCELLED or FAILED",
)
async def order_status(request: Request, order_id: uuid.UUID) -> Response:
    return answer_response(await handlers.order_status(order_id, deps_of(request)))
