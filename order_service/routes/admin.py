"""The admin router: create a sale (PostgreSQL row, then its stock in Redis). Bearer token."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime, BaseModel, ConfigDict

from flashsale.contracts import CreateSale, PerUserLimit, SaleId, SaleName, StockUnits
from order_service import handlers
from order_service.routes.deps import HandlerDeps, services_of
from order_service.routes.responses import answer_response, error

__all__ = ["NewSale", "router"]

bearer = HTTPBearer(auto_error=False)


async def require_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    token = services_of(request).settings.admin_token
    given = credentials.credentials if credentials is not None else ""
    # compare_digest: the time taken says nothing about how much of the token matched.
    if token is None or not secrets.compare_digest(
        given.encode(), token.get_secret_value().encode()
    ):
        raise HTTPException(401, "admin token required", headers={"WWW-Authenticate": "Bearer"})


router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin)])


class NewSale(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sale_id: SaleId | None = None
    name: SaleName
    stock: StockUnits
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    per_user_limit: PerUserLimit = 1


@router.post(
    "/sales",
    status_code=201,
    summary="Create a sale and load its stock",
    responses={
        200: {"description": "the same sale again (a retry): nothing changed"},
        401: {"description": "admin token required"},
        409: error(
            "sale_exists (another sale has this id), or sale_needs_repair: Redis lost a sale"
            " that has sold units; run the `hint` (flashsale repair --sale ID)"
        ),
        422: error("invalid_request, or ends_at not after starts_at"),
        503: error("unavailable: a store is down", retry=True),
    },
)
async def create_sale(body: NewSale, deps: HandlerDeps) -> Response:
    command = CreateSale(
        sale_id=body.sale_id or f"sale-{secrets.token_hex(6)}",
        name=body.name,
        stock=body.stock,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        per_user_limit=body.per_user_limit,
    )
    return answer_response(await handlers.create_sale(command, deps))
