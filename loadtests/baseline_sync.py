"""The synchronous, tightly-coupled checkout that the pipeline replaces: the bench's baselines.

Every request takes the sale's row lock in PostgreSQL, decrements the stock and inserts
the order in one transaction before it answers, as the seed's "before" architecture does.

- `create_app`: the *kindest* version of that design (no payment or logistics call inside
  the request); it is still bounded by one hot row in the database.
- `create_coupled_app`: the article's version: inventory, payment and logistics are
  called over HTTP, one after the other (`loadtests.stubs`), then the DB is written. A
  buyer waits for all of them, and fails when any one is down.

Run: `uvicorn loadtests.baseline_sync:create_app --factory` with FLASHSALE_DATABASE_URL set
(and FLASHSALE_BENCH_*_URL for the coupled one).
"""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

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


class Downstream(BaseSettings):
    """Where the coupled checkout finds its dependencies (FLASHSALE_BENCH_*_URL)."""

    model_config = SettingsConfigDict(env_prefix="FLASHSALE_BENCH_", extra="ignore")
    inventory_url: str
    payment_url: str
    logistics_url: str


def write_order(engine: Engine, sale_id: str, body: Body) -> JSONResponse:
    """Take a unit from the sale's row and insert the order, in one transaction."""
    order_id = uuid.uuid4()
    try:
        with engine.begin() as conn:
            if conn.execute(TAKE_STOCK, {"q": body.quantity, "s": sale_id}).first() is None:
                return JSONResponse({"error": "sold_out"}, status_code=409)
            conn.execute(
                INSERT_ORDER, {"o": order_id, "s": sale_id, "u": body.user_id, "q": body.quantity}
            )
    except IntegrityError:
        return JSONResponse({"error": "already_purchased"}, status_code=409)
    return JSONResponse({"order_id": str(order_id), "status": "CREATED"}, status_code=201)


def create_app() -> FastAPI:
    engine = make_engine(InfraSettings().database_url, pool_size=20)
    app = FastAPI()

    @app.post("/api/sales/{sale_id}/orders")
    def place(sale_id: str, body: Body) -> JSONResponse:  # sync: runs in the thread pool
        return write_order(engine, sale_id, body)

    return app


def create_coupled_app() -> FastAPI:
    engine = make_engine(InfraSettings().database_url, pool_size=20)
    downstream = Downstream()  # from the environment
    chain = [downstream.inventory_url, downstream.payment_url, downstream.logistics_url]
    # No pool limit: the stubs are not the bottleneck, the buyer's wait is what is measured.
    client = httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=None))
    app = FastAPI()

    @app.post("/api/sales/{sale_id}/orders")
    async def place(sale_id: str, body: Body) -> JSONResponse:
        try:
            for url in chain:  # one after the other, as the coupled checkout does
                (await client.post(url, json={"sale_id": sale_id})).raise_for_status()
        except httpx.HTTPError as exc:
            return JSONResponse({"error": f"downstream: {type(exc).__name__}"}, status_code=503)
        return await run_in_threadpool(write_order, engine, sale_id, body)

    return app
