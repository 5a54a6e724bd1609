"""The raw purchase route answers exactly what the FastAPI route answers: for valid
requests without the framework, for anything else by replaying the request to it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from order_service.app import create_api, create_app
from order_service.settings import OrderServiceSettings
from tests.unit.order_service.fakes import FakeReservations, fake_services

JSON = {"content-type": "application/json"}
# (path, body, headers): each is sent to a fresh app and to the bare FastAPI app.
CASES: list[tuple[str, bytes, dict[str, str]]] = [
    ("/api/sales/s1/orders", b'{"user_id":"u1"}', JSON),
    ("/api/sales/s1/orders", b'{"user_id":"u1","quantity":2}', JSON),
    ("/api/sales/s1/orders", b'{"user_id":"u1"}', {}),  # no content type: a 422
    ("/api/sales/s1/orders", b'{"user_id":"u1"}', {"content-type": "application/json; x=1"}),
    ("/api/sales/nope/orders", b'{"user_id":"u1"}', JSON),
    ("/api/sales/s1/orders", b'{"user_id":"u1","quantity":"1"}', JSON),  # strict
    ("/api/sales/s1/orders", b'{"user_id":"u1","extra":1}', JSON),
    ("/api/sales/s1/orders", b'{"user_id":"u 1"}', JSON),
    ("/api/sales/s1/orders", b'{"user_id":"u1","quantity":1.0}', JSON),
    ("/api/sales/s1/orders", b"[]", JSON),
    ("/api/sales/s1/orders", b"not json", JSON),
    ("/api/sales/s1/orders", b"", JSON),
    ("/api/sales/s1/orders", b'{"user_id":"u1"}', {"content-type": "text/plain"}),
    ("/api/sales/s%20x/orders", b'{"user_id":"u1"}', JSON),
    ("/api/sales/s1/orders", b'{"user_id":"u1"}', {**JSON, "idempotency-key": "bad key!"}),
    ("/api/sales/s1/orders", b'{"user_id":"u1"}', {**JSON, "idempotency-key": "k-1"}),
    ("/api/sales/s1/orders", b'{"user_id":"u1"}', {**JSON, "x-authenticated-user": "u2"}),
    ("/api/sales/s1/orders", b'{"user_id":"u1"}', {**JSON, "x-authenticated-user": "u1"}),
]


def stocked(services: Any) -> Any:
    reservations: FakeReservations = services.deps.reservations
    reservations.add_sale("s1", stock=5, limit=1)
    return services


async def post(app: Any, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post(path, content=body, headers=headers)


def comparable(response: httpx.Response) -> tuple[int, Any, str | None]:
    body = response.json()
    if response.status_code == 202:  # a fresh order id each time: compare the shape
        body = sorted(body)
    return response.status_code, body, response.headers.get("retry-after")


@pytest.mark.parametrize(("path", "body", "headers"), CASES)
async def test_the_raw_route_answers_what_the_framework_answers(
    path: str, body: bytes, headers: dict[str, str]
) -> None:
    fresh = stocked(fake_services())
    raw = await post(create_app(fresh.settings, fresh), path, body, headers)
    services = stocked(fake_services())
    framework = await post(create_api(services.settings, services), path, body, headers)
    assert comparable(raw) == comparable(framework)
    assert raw.headers["content-type"] == "application/json"


class CountingApi:
    """The framework behind the raw route: counts the requests it is given."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await self.api(scope, receive, send)


async def test_a_valid_purchase_never_reaches_the_framework() -> None:
    from order_service.routes.purchase import PurchaseRoute

    services = stocked(fake_services())
    api = CountingApi(create_api(services.settings, services))
    route = PurchaseRoute(api, services.deps, max_body=4096, retry_after_s=1)
    ok = await post(route, "/api/sales/s1/orders", b'{"user_id":"u1"}', JSON)
    assert ok.status_code == 202 and api.calls == 0
    bad = await post(route, "/api/sales/s1/orders", b'{"user":"u1"}', JSON)
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_request"
    assert api.calls == 1


async def test_a_store_failure_is_a_503_with_retry_after() -> None:
    services = stocked(fake_services())

    async def broken(*args: object) -> None:
        raise ConnectionError("redis is gone")

    services.deps.reservations.reserve = broken
    app = create_app(OrderServiceSettings(dev_mode=True, retry_after_s=3), services)
    response = await post(app, "/api/sales/s1/orders", b'{"user_id":"u1"}', JSON)
    assert (response.status_code, response.json()) == (503, {"error": "unavailable"})
    assert response.headers["retry-after"] == "3"
