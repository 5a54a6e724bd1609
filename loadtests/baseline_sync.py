"""The synchronous, tightly-coupled checkout that the pipeline replaces: the bench's baseline.

Every request takes the sale's row lock in PostgreSQL, decrements the stock and inserts
the order in one transaction before it answers, as the seed's "before" architecture does.
It is the *kindest* version of that design (no payment or SMS call inside the request),
and it is still bounded by one hot row in the database.

Run: `uvicorn loadtests.baseline_sync:create_app --factory` with FLASHSALE_DATABASE_URL set.
"""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from flashsale.db import make_engine
from flashsale.settings import InfraSettings

TAKE_STOCK = text(
    "UPDATE sales SET remaining_stock = remaining_stock - :q"
    " WHERE sale_id = :s AND remaining_stock >= :q RETURNING remaining_stock"
)
INSERT_ORDER = text(
    "INSERT INTO orders (order_id, sale_id, user_id, quantity, status, placed_at)"
    " VALUES (:o, :s, :u, :q, 'CREATED', now())"
)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str
    quantity: int = 1


def create_app() -> FastAPI:
    engine = make_engine(InfraSettings().database_url, pool_size=20)
    app = FastAPI()

    @app.post("/api/sales/{sale_id}/orders")
    def place(sale_id: str, body: Body) -> JSONResponse:  # sync: runs in the thread pool
        order_id = uuid.uuid4()
        try:
            with engine.begin() as conn:
                if conn.execute(TAKE_STOCK, {"q": body.quantity, "s": sale_id}).first() is None:
                    return JSONResponse({"error": "sold_out"}, status_code=409)
                conn.execute(
                    INSERT_ORDER,
                    {"o": order_id, "s": sale_id, "u": body.user_id, "q": body.quantity},
                )
        except IntegrityError:
            return JSONResponse({"error": "already_purchased"}, status_code=409)
        return JSONResponse({"order_id": str(order_id), "status": "CREATED"}, status_code=201)

    return app
