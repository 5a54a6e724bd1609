"""The gateway's OpenAPI document: its own pages, and the public API it passes through.

The order service owns /api/ and documents it; the gateway adds what its own edge answers
on every /api/ operation (429 with Retry-After, its 503 when the order service is down,
400 for a path no URL parser takes, 408 for a slow client, and the 403 of the proof of
work on a purchase when it is on). It reads the order service's document through the
upstream pool the first time /openapi.json is asked and keeps it; until the order service
answers, it serves its own pages alone.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response

from gateway.bootstrap import Gateway
from gateway.proof_of_work import ProofOfWork, challenge_router

__all__ = ["publish_api"]

log = logging.getLogger(__name__)
PURCHASE = "/api/sales/{sale_id}/orders"
RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}


def _error(description: str, *, retry: bool = False) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/ErrorBody"}
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if retry:
        answer["headers"] = RETRY_AFTER
    return answer


EDGE = {
    "400": _error("bad_request: a path no URL parser accepts"),
    "408": _error("request_timeout: the headers did not arrive within header_timeout_s"),
    "429": _error("rate_limited: the per-client or global bucket is empty", retry=True),
    "503": _error("unavailable (the order service is down), or the order service's 503s",
                  retry=True),
}  # fmt: skip


def publish_api(app: FastAPI, gateway: Gateway, proofs: ProofOfWork | None) -> None:
    """Serve /openapi.json as the merged document (and the challenge route, if on)."""
    if proofs is not None:
        app.include_router(challenge_router(proofs))
    merged: dict[str, Any] = {}

    async def openapi() -> Response:
        own = get_openapi(title=app.title, version=app.version, routes=app.routes)
        if not merged:
            upstream = await _order_service_document(gateway)
            if upstream is not None:
                merged.update(merge(own, upstream, proof=proofs is not None))
        return JSONResponse(merged or own)

    app.add_api_route("/openapi.json", openapi, include_in_schema=False)


async def _order_service_document(gateway: Gateway) -> dict[str, Any] | None:
    try:
        reply = await gateway.upstream.forward("GET", "/openapi.json", b"", {})
        document: dict[str, Any] = orjson.loads(reply.body)
    except Exception as exc:  # down or not ready: serve our own part, ask again next time
        log.warning("the order service's OpenAPI document is unavailable: %r", exc)
        return None
    return document if reply.status == 200 else None


def merge(own: dict[str, Any], upstream: dict[str, Any], *, proof: bool) -> dict[str, Any]:
    """Our paths plus the order service's /api/ ones, each with the edge's answers."""
    document = copy.deepcopy(own)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.update(copy.deepcopy(upstream.get("components", {}).get("schemas", {})))
    for path, operations in upstream.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue  # /admin stays on the order service's own port
        operations = copy.deepcopy(operations)
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status, edge in EDGE.items():
                responses.setdefault(status, edge)
            if proof and path == PURCHASE and method == "post":
                _require_proof(operation)
        document["paths"][path] = operations
    return document


def _require_proof(operation: dict[str, Any]) -> None:
    operation.setdefault("parameters", []).append(
        {
            "name": "X-Proof-Of-Work",
            "in": "header",
            "required": True,
            "description": "{challenge}.{nonce} (GET /pow/challenge)",
            "schema": {"type": "string"},
        }
    )
    operation["responses"]["403"] = _error(
        "proof_of_work_required (no valid proof), or identity_mismatch"
    )
