"""The whole pipeline over HTTP and the broker: a stampede through the gateway ends as rows
in PostgreSQL, emails on an SMTP server, and invariants that hold."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from flashsale.check_pipeline import check_pipeline
from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys
from tests.e2e.stack import Stack, running_stack
from tests.polling import eventually
from tests.random_refs import random_sale_id

pytestmark = pytest.mark.e2e

STOCK, BUYERS = 20, 60


@pytest.fixture(scope="module")
def stack(
    infra: InfraSettings,
    engine: Engine,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Stack]:
    failed_before = request.session.testsfailed
    logs = tmp_path_factory.mktemp("e2e-logs")
    with running_stack(infra, logs, order_ttl_s=6) as stack:
        yield stack
    if request.session.testsfailed > failed_before:  # show what the services said
        for log in sorted(logs.glob("*.log")):
            print(f"==== {log.name}\n{log.read_text()[-4000:]}")


def create_sale(stack: Stack, stock: int) -> str:
    sale_id, now = random_sale_id("e2e"), datetime.now(UTC)
    response = httpx.post(
        f"{stack.order_url}/admin/sales",
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        json={
            "sale_id": sale_id,
            "name": "e2e",
            "stock": stock,
            "per_user_limit": 1,
            "starts_at": (now - timedelta(seconds=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    return sale_id


def stampede(stack: Stack, sale_id: str, users: list[str]) -> list[httpx.Response]:
    """Every user buys at once, each through its own connection."""
    return asyncio.run(_stampede(stack, sale_id, users))


async def _stampede(stack: Stack, sale_id: str, users: list[str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=20) as client:
        return await asyncio.gather(
            *(
                client.post(
                    f"/api/sales/{sale_id}/orders",
                    json={"user_id": u, "quantity": 1},
                    headers={"X-Authenticated-User": u},
                )
                for u in users
            )
        )


def body_of(message: Message) -> str:
    """The decoded text (the raw one is quoted-printable: a long line may split an id)."""
    payload = message.get_payload(decode=True)
    return payload.decode() if isinstance(payload, bytes) else ""


def assert_pipeline_clean(stack: Stack, infra: InfraSettings, sale_id: str) -> None:
    """`flashsale check --sale` on this stack: PostgreSQL, Redis and the stack's DLQ agree."""
    settings = infra.model_copy(update={"dlq_topic": stack.env["FLASHSALE_DLQ_TOPIC"]})
    report = check_pipeline(settings, sale_id)
    assert report.ok, [c for c in report.checks if not c.ok]


def orders_of(engine: Engine, sale_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM orders WHERE sale_id = :s"), {"s": sale_id})
        return [dict(r._mapping) for r in rows]


def remaining(engine: Engine, sale_id: str) -> int:
    with engine.connect() as conn:
        value: int = conn.execute(
            text("SELECT remaining_stock FROM sales WHERE sale_id = :s"), {"s": sale_id}
        ).scalar_one()
        return value


def test_a_stampede_sells_exactly_the_stock_once_per_user(
    stack: Stack, engine: Engine, infra: InfraSettings
) -> None:
    sale_id = create_sale(stack, STOCK)
    users = [f"buyer{i}-{sale_id}" for i in range(BUYERS)]
    responses = stampede(stack, sale_id, users)

    codes = Counter(r.status_code for r in responses)
    assert codes == {202: STOCK, 409: BUYERS - STOCK}, codes
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"sold_out"}
    tokens = {
        r.json()["order_id"]: u
        for r, u in zip(responses, users, strict=True)
        if r.status_code == 202
    }

    # Every token the clients received ends in the DB exactly once, and stock balances.
    rows = eventually(
        lambda: len(orders_of(engine, sale_id)) == STOCK and orders_of(engine, sale_id)
    )
    assert {str(r["order_id"]): r["user_id"] for r in rows} == tokens
    assert {r["status"] for r in rows} == {"CREATED"}
    assert remaining(engine, sale_id) == 0
    assert_pipeline_clean(stack, infra, sale_id)

    # One confirmation email per order, over real SMTP.
    def confirmations() -> list[str]:
        return [m["Message-ID"] for m in stack.inbox.received() if sale_id in body_of(m)]

    assert len(eventually(lambda: len(confirmations()) >= STOCK and confirmations())) == STOCK
    assert len(set(confirmations())) == STOCK


def test_the_order_service_exports_its_admission_counts(stack: Stack) -> None:
    def reserved() -> float:
        for line in httpx.get(f"{stack.order_url}/metrics").text.splitlines():
            if line.startswith('flashsale_admission_total{outcome="reserved"}'):
                return float(line.split()[-1])
        return 0.0

    before = reserved()
    sale_id = create_sale(stack, 2)
    assert [
        r.status_code for r in stampede(stack, sale_id, [f"m1-{sale_id}", f"m2-{sale_id}"])
    ] == [202, 202]
    assert reserved() == before + 2


def test_pay_one_order_and_let_another_expire(
    stack: Stack, engine: Engine, redis_client: Any, infra: InfraSettings
) -> None:
    sale_id = create_sale(stack, 3)
    payer, sleeper = f"payer-{sale_id}", f"sleeper-{sale_id}"
    responses = stampede(stack, sale_id, [payer, sleeper])
    assert [r.status_code for r in responses] == [202, 202]
    paid_id, expired_id = (r.json()["order_id"] for r in responses)

    # A buyer who already has an order is told which one.
    again = stampede(stack, sale_id, [payer])[0]
    assert again.status_code == 409
    assert again.json() == {"error": "already_purchased", "order_id": paid_id}

    assert eventually(
        lambda: (
            httpx.get(f"{stack.gateway_url}/api/orders/{paid_id}").json().get("status") == "CREATED"
        )
    )
    pay = httpx.post(
        f"{stack.gateway_url}/api/orders/{paid_id}/payment", headers={"X-Authenticated-User": payer}
    )
    assert pay.status_code == 200, pay.text
    assert httpx.get(f"{stack.gateway_url}/api/orders/{paid_id}").json()["status"] == "PAID"

    # The unpaid order expires (TTL 6 s here): CANCELLED, stock back in PostgreSQL and Redis.
    def expired() -> bool:
        return (
            httpx.get(f"{stack.gateway_url}/api/orders/{expired_id}").json().get("status")
            == "CANCELLED"
        )

    assert eventually(expired, 40, "the order expired")
    assert remaining(engine, sale_id) == 2
    assert eventually(lambda: redis_client.get(SaleKeys(sale_id).stock) == "2")
    assert_pipeline_clean(stack, infra, sale_id)

    # The freed unit sells again, to the user whose order expired.
    again = stampede(stack, sale_id, [sleeper])
    assert again[0].status_code == 202

    def subjects() -> set[str]:
        return {m["Subject"] for m in stack.inbox.received() if sale_id in body_of(m)}

    # Confirmed x3 (payer, sleeper, sleeper again), paid, cancelled: one mail each.
    assert eventually(lambda: len(subjects()) >= 5, 60, "five notices")
    assert any("cancel" in s.lower() for s in subjects()), subjects()
    assert any("paid" in s.lower() for s in subjects()), subjects()


def test_bad_input_never_yields_a_5xx(stack: Stack) -> None:
    sale_id = create_sale(stack, 1)
    bodies: list[Any] = [
        b"",
        b"{",
        b"[]",
        b"null",
        b'{"user_id": 1}',
        b'{"user_id": "u", "quantity": -1}',
        b'{"user_id": "u", "quantity": 1e309}',
        b'{"user_id": "u", "extra": 1}',
        b"x" * 100_000,
    ]
    with httpx.Client(base_url=stack.gateway_url, timeout=10) as client:
        for i, body in enumerate(bodies):
            for path in (
                f"/api/sales/{sale_id}/orders",
                "/api/sales/%00/orders",
                "/api/sales/" + "x" * 500 + "/orders",
            ):
                response = client.post(
                    path,
                    content=body,
                    headers={
                        "X-Authenticated-User": f"fuzz{i}",
                        "content-type": "application/json",
                    },
                )
                assert response.status_code < 500, (
                    path,
                    body[:40],
                    response.status_code,
                    response.text,
                )
