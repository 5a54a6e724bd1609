"""The answers every route shares: a handler's Answer as HTTP, the one 503 builder, the
app's exception handlers, and the error bodies the OpenAPI docs describe."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from order_service.handlers import Answer
from order_service.routes.deps import services_of

__all__ = [
    "EDGE_ERRORS",
    "EXCEPTION_HANDLERS",
    "ErrorBody",
    "answer_response",
    "error",
    "unavailable",
]

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """Every 4xx and 5xx body: `error` names it; the other fields come with some."""

    error: str
    order_id: uuid.UUID | None = None  # already_purchased, and payment refusals
    per_user_limit: int | None = None  # quantity_over_limit
    detail: list[dict[str, Any]] | None = None  # invalid_request: what did not validate
    sale_id: str | None = None  # sale_exists, sale_needs_repair
    hint: str | None = None  # sale_needs_repair: the command that ends it


RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}


def error(description: str, *, retry: bool = False) -> dict[str, Any]:
    documented: dict[str, Any] = {"model": ErrorBody, "description": description}
    if retry:
        documented["headers"] = RETRY_AFTER
    return documented


# What the edge (shortcuts.py), the HTTP server (flashsale/slow_clients.py) and the app's
# handlers answer on any /api/ route.
EDGE_ERRORS: dict[int | str, dict[str, Any]] = {
    408: error("request_timeout: the headers did not arrive within header_timeout_s"),
    413: error("body_too_large"),
    422: error("invalid_request: the path, a header or the body is malformed"),
    431: error("headers_too_large: request headers over max_header_bytes"),
    503: error("overloaded, or a store down (unavailable)", retry=True),
}


def answer_response(answer: Answer) -> Response:
    headers = {} if answer.retry_after is None else {"Retry-After": str(answer.retry_after)}
    return Response(
        orjson.dumps(answer.body),
        status_code=answer.status,
        media_type="application/json",
        headers=headers,
    )


def unavailable(retry_after_s: int, body: dict[str, Any] | None = None) -> Response:
    """The one 503 a route or the app builds itself: our trouble, never the client's, with
    a hint when to come back."""
    answer = Answer(503, body or {"error": "unavailable"}, retry_after=retry_after_s)
    return answer_response(answer)


async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
    # Never echo the input back: it may not even be JSON-encodable (1e309 is inf).
    detail = [{"loc": e["loc"], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return answer_response(Answer(422, {"error": "invalid_request", "detail": detail}))


async def http_refusal(request: Request, exc: StarletteHTTPException) -> Response:
    """The framework's own refusals in the documented shape: a body that is not even
    JSON (its 400) is an invalid_request like any other; 401, 404, 405 get their name."""
    if exc.status_code == 400:
        detail = [{"loc": ["body"], "msg": str(exc.detail), "type": "json_invalid"}]
        return answer_response(Answer(422, {"error": "invalid_request", "detail": detail}))
    name = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    body = orjson.dumps({"error": name})
    return Response(body, exc.status_code, exc.headers, media_type="application/json")


async def store_failed(request: Request, exc: Exception) -> Response:
    # Redis, PostgreSQL or anything else failing is our trouble, never the client's
    # input: the one 5xx a client sees is 503.
    log.error("unavailable: %r", exc)
    return unavailable(services_of(request).settings.retry_after_s)


ExceptionHandler = Callable[[Request, Any], Coroutine[Any, Any, Response]]
EXCEPTION_HANDLERS: dict[int | type[Exception], ExceptionHandler] = {
    RequestValidationError: invalid_request,
    StarletteHTTPException: http_refusal,
    Exception: store_failed,
}
