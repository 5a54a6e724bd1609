"""FastAPI's own cost: the same hello as a FastAPI route on the order path."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.post("/api/sales/{sale_id}/orders")
async def hello(sale_id: str) -> dict[str, str]:
    return {"hello": "world"}
