"""FastAPI's own cost: the same hello as a FastAPI route on the order path."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

app = FastAPI()


@app.post("/api/sales/{sale_id}/orders")
async def hello(sale_id: str) -> dict[str, str]:
    return {"hello": "world"}


def create_app() -> ASGIApp:
    """The factory `loadtests.serve` runs (every bench server is started the same way)."""
    return app
