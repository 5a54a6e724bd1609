"""Paying orders: the HTTP answers, and the race with the expiry worker. Real PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import Engine, text

from flashsale.check import check_invariants
from flashsale.contracts import PayOrder
from flashsale.db import make_engine
from flashsale.settings import InfraSettings
from inventory_consumer.adapters.sql import SqlOrderStore
from inventory_consumer.plan import plan_batch
from inventory_consumer.workers.expiry import ExpiryWorker
from order_service.adapters.sql import SqlPayments
from order_service.payments import PaymentOutcome
from order_service.routes import payments as payment_routes
from tests.fulfilment_helpers import create_sale, placed, scalar
from tests.random_refs import random_topic
from tests.unit.order_service.fakes import fake_services

pytestmark = pytest.mark.integration


@pytest.fixture
def topic() -> str:
    return random_topic("events")


@pytest.fixture
async def client(engine: Engine, topic: str) -> AsyncIterator[AsyncClient]:
    app = FastAPI()
    app.state.services = fake_services(payments=SqlPayments(engine, topic))
    app.include_router(payment_routes.router)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as http:
        yield http


def _create_orders(
    engine: Engine, topic: str, sale_id: str, n: int, ttl_s: float
) -> list[uuid.UUID]:
    orders = [placed(sale_id) for _ in range(n)]
    SqlOrderStore(engine, topic, ttl_s).apply(plan_batch(orders))
    return [o.order_id for o in orders]


async def test_payment_answers(
    infra: InfraSettings, engine: Engine, topic: str, client: AsyncClient
) -> None:
    sale_id = create_sale(engine, infra, 10, "pay")
    paid, late = _create_orders(engine, topic, sale_id, 2, ttl_s=600)

    first = await client.post(f"/api/orders/{paid}/payment")
    assert (first.status_code, first.json()["status"], first.json()["already_paid"]) == (
        200,
        "PAID",
        False,
    )
    again = await client.post(f"/api/orders/{paid}/payment")
    assert (again.status_code, again.json()["already_paid"]) == (200, True)
    outbox = (
        "SELECT count(*) FROM outbox WHERE topic = :t AND event_type = 'OrderPaid' AND key = :k"
    )
    assert scalar(engine, outbox, t=topic, k=str(paid)) == 1

    assert (await client.post(f"/api/orders/{uuid.uuid4()}/payment")).status_code == 404
    assert (await client.post("/api/orders/not-a-uuid/payment")).status_code == 422

    with engine.begin() as conn:  # past its TTL, not yet swept: refused all the same
        conn.execute(
            text("UPDATE orders SET expires_at = now() - interval '1 s' WHERE order_id = :o"),
            {"o": late},
        )
    expired = await client.post(f"/api/orders/{late}/payment")
    assert (expired.status_code, expired.json()["error"]) == (409, "order_expired")
    assert ExpiryWorker(engine, topic, sale_ids=[sale_id]).expire_once() == 1
    cancelled = await client.post(f"/api/orders/{late}/payment")
    assert (cancelled.status_code, cancelled.json()["error"]) == (409, "order_cancelled")
    assert scalar(engine, "SELECT status FROM orders WHERE order_id = :o", o=paid) == "PAID"


async def test_with_an_identity_only_the_orders_owner_pays_it(
    infra: InfraSettings, engine: Engine, topic: str, client: AsyncClient
) -> None:
    sale_id = create_sale(engine, infra, 10, "owner")
    order = placed(sale_id)
    SqlOrderStore(engine, topic, 600).apply(plan_batch([order]))
    pay = f"/api/orders/{order.order_id}/payment"

    stolen = await client.post(pay, headers={"X-Authenticated-User": "someone-else"})
    assert (stolen.status_code, stolen.json()["error"]) == (403, "not_order_owner")
    assert scalar(engine, "SELECT status FROM orders WHERE order_id = :o", o=order.order_id) == (
        "CREATED"
    )
    own = await client.post(pay, headers={"X-Authenticated-User": order.user_id})
    assert (own.status_code, own.json()["status"]) == (200, "PAID")
    # Paid, it is still not theirs to learn about.
    again = await client.post(pay, headers={"X-Authenticated-User": "someone-else"})
    assert again.status_code == 403
    unknown = await client.post(
        f"/api/orders/{uuid.uuid4()}/payment", headers={"X-Authenticated-User": "someone-else"}
    )
    assert unknown.status_code == 404


def test_payment_racing_expiry_ends_in_exactly_one_of_paid_or_cancelled(
    infra: InfraSettings, topic: str
) -> None:
    engine = make_engine(infra.database_url, pool_size=15)
    pairs, stock = 120, 200
    sale_id = create_sale(engine, infra, stock, "race")
    order_ids = _create_orders(engine, topic, sale_id, pairs, ttl_s=600)
    # Deadlines spread 20 ms apart over 2.4 s; every payment fires at once, mid-spread.
    # Whatever the machine's speed, some orders expire before their payment lands, some
    # after, and those in between are contested by the payment and two sweepers.
    with engine.begin() as conn:
        base = conn.execute(text("SELECT now() + interval '0.5 s'")).scalar_one()
        for i, oid in enumerate(order_ids):
            conn.execute(
                text("UPDATE orders SET expires_at = :t WHERE order_id = :o"),
                {"t": base + timedelta(milliseconds=20 * i), "o": oid},
            )
    fire_at = base.timestamp() + 1.2
    payments = SqlPayments(engine, topic)
    expiry = ExpiryWorker(
        engine, topic, batch=7, sale_ids=[sale_id]
    )  # small rounds: more interleaving
    done = threading.Event()

    def sweep() -> None:
        while not done.is_set():
            expiry.expire_once()
            time.sleep(0.002)

    def pay(i: int) -> PaymentOutcome:
        time.sleep(max(0.0, fire_at - time.time()))
        return payments.pay(PayOrder(order_id=order_ids[i])).outcome

    sweepers = [threading.Thread(target=sweep) for _ in range(2)]
    for t in sweepers:
        t.start()
    with ThreadPoolExecutor(max_workers=pairs) as pool:  # every payer waits on its own
        outcomes = list(pool.map(pay, range(pairs)))
    time.sleep(0.5)
    while expiry.expire_once():  # sweep what is left
        pass
    done.set()
    for t in sweepers:
        t.join()

    with engine.connect() as conn:
        status: dict[uuid.UUID, str] = dict(
            conn.execute(
                text("SELECT order_id, status FROM orders WHERE sale_id = :s"), {"s": sale_id}
            ).all()
        )
        events = conn.execute(
            # Any topic: another running consumer's expiry worker may join the race.
            text(
                "SELECT key, array_agg(event_type) FROM outbox"
                " WHERE key = ANY(:keys) AND event_type <> 'OrderCreated' GROUP BY key"
            ),
            {"keys": [str(oid) for oid in order_ids]},
        ).all()
    paid = {
        oid
        for oid, outcome in zip(order_ids, outcomes, strict=True)
        if outcome is PaymentOutcome.PAID
    }
    assert set(status.values()) <= {"PAID", "CANCELLED"}
    assert {oid for oid, s in status.items() if s == "PAID"} == paid  # 200 if and only if PAID
    assert {k: sorted(v) for k, v in events} == {
        str(oid): ["OrderPaid" if status[oid] == "PAID" else "OrderCancelled"] for oid in order_ids
    }
    assert scalar(
        engine, "SELECT remaining_stock FROM sales WHERE sale_id = :s", s=sale_id
    ) == stock - len(paid)
    assert check_invariants(engine, sale_id) == []
    assert 0 < len(paid) < pairs, "no contest: every pair ended the same way"
    print(f"{len(paid)} paid, {pairs - len(paid)} cancelled")
    engine.dispose()
