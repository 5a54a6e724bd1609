"""The order service's use cases against fakes: every answer of the public API."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import cast

from flashsale.contracts import CreateSale, OrderPlaced, OrderVoided, PlaceOrder, decode_event
from order_service import handlers
from order_service.ports import OrderRecord
from tests.unit.order_service.fakes import (
    FakeClock,
    FakeOrders,
    FakePublisher,
    FakeReservations,
    FakeSales,
    FakeStock,
    fake_services,
)


def parts(services: object) -> tuple[FakeReservations, FakePublisher]:
    deps = services.deps  # type: ignore[attr-defined]
    return cast(FakeReservations, deps.reservations), cast(FakePublisher, deps.publisher)


async def test_reserved_order_is_answered_only_after_the_publish() -> None:
    services = fake_services()
    reservations, publisher = parts(services)
    reservations.add_sale("s1", stock=1)
    answer = await handlers.place_order(PlaceOrder(sale_id="s1", user_id="u1"), None, services.deps)
    assert answer.status == 202 and answer.body["status"] == "PENDING"
    order_id = answer.body["order_id"]
    assert answer.body["status_url"] == f"/api/orders/{order_id}"
    [(key, payload)] = publisher.sent
    placed = decode_event(payload)
    assert key == "u1" and isinstance(placed, OrderPlaced) and str(placed.order_id) == order_id
    assert reservations.pending == {}  # acknowledged: nothing left to re-publish
    assert reservations.pointers == {order_id: "s1"}


async def test_every_refusal_has_its_answer() -> None:
    services = fake_services()
    reservations, _ = parts(services)
    reservations.add_sale("s1", stock=2, limit=2)
    deps = services.deps
    first = await handlers.place_order(PlaceOrder(sale_id="s1", user_id="u1"), None, deps)
    again = await handlers.place_order(PlaceOrder(sale_id="s1", user_id="u1"), None, deps)
    assert again.status == 409
    assert again.body == {"error": "already_purchased", "order_id": first.body["order_id"]}
    over = await handlers.place_order(
        PlaceOrder(sale_id="s1", user_id="u2", quantity=3), None, deps
    )
    assert over.status == 422 and over.body["per_user_limit"] == 2
    last = await handlers.place_order(PlaceOrder(sale_id="s1", user_id="u3"), None, deps)
    assert last.status == 202
    sold = await handlers.place_order(PlaceOrder(sale_id="s1", user_id="u4"), None, deps)
    assert (sold.status, sold.body) == (409, {"error": "sold_out"})
    unknown = await handlers.place_order(PlaceOrder(sale_id="nope", user_id="u1"), None, deps)
    assert (unknown.status, unknown.body) == (404, {"error": "unknown_sale"})


async def test_a_sale_outside_its_window_is_not_active() -> None:
    clock = FakeClock(now=5_000.0)
    services = fake_services(clock)
    reservations, _ = parts(services)
    reservations.add_sale("s1", stock=5, now_ms=10_000_000)  # starts long after "now"
    answer = await handlers.place_order(PlaceOrder(sale_id="s1", user_id="u1"), None, services.deps)
    assert (answer.status, answer.body) == (409, {"error": "sale_not_active"})


async def test_a_keyed_request_asks_redis_even_when_sold_out_so_a_buyer_learns_its_order() -> None:
    services = fake_services()
    reservations, _ = parts(services)
    reservations.add_sale("s1", stock=1)
    first = await handlers.place_order(PlaceOrder(sale_id="s1", user_id="u1"), None, services.deps)
    assert services.deps.flags.is_sold_out("s1")  # the last unit raised the flag
    for user in ("u2", "u3"):  # with a key, both edges let them through to reserve.lua
        answer = await handlers.place_order(
            PlaceOrder(sale_id="s1", user_id=user), f"key-{user}", services.deps
        )
        assert answer.body == {"error": "sold_out"}
    # The buyer of the last unit (a retry after a 503 whose order landed) learns it.
    again = await handlers.place_order(PlaceOrder(sale_id="s1", user_id="u1"), "k", services.deps)
    assert again.body == {"error": "already_purchased", "order_id": first.body["order_id"]}


async def test_failed_produce_voids_instead_of_undoing_and_fails_fast_after() -> None:
    services = fake_services()
    reservations, publisher = parts(services)
    reservations.add_sale("s1", stock=5)
    publisher.down = True
    answer = await handlers.place_order(PlaceOrder(sale_id="s1", user_id="u1"), None, services.deps)
    assert answer.status == 503 and answer.retry_after == 1
    await asyncio.sleep(0.01)  # the background void attempt runs, and fails: Kafka is down
    [(order_id, (_, voided))] = reservations.voids.items()
    assert isinstance(decode_event(voided), OrderVoided)
    assert reservations.pending == {} and reservations.sales["s1"].stock == 4
    assert reservations.sales["s1"].buyers == {"u1": f"void:{order_id}"}
    # The breaker is open: the next buyer gets a 503 at once, nothing reserved.
    calls = reservations.calls
    fast = await handlers.place_order(PlaceOrder(sale_id="s1", user_id="u2"), None, services.deps)
    assert fast.status == 503 and reservations.calls == calls
    # Kafka back: recovery publishes the void, and only forgets it: the stock stays taken
    # until the consumer applied the void to the database.
    publisher.down = False
    done = await services.recovery.run_once()
    assert done.voided == 1 and reservations.voids == {}
    assert reservations.sales["s1"].stock == 4
    [(key, payload)] = publisher.sent
    assert key == "u1" and isinstance(decode_event(payload), OrderVoided)


async def test_a_voided_user_waits_for_the_void_to_be_applied_then_buys_again() -> None:
    services = fake_services()
    reservations, publisher = parts(services)
    reservations.add_sale("s1", stock=5)
    publisher.down = True
    command = PlaceOrder(sale_id="s1", user_id="u1")
    assert (await handlers.place_order(command, None, services.deps)).status == 503
    [order_id] = reservations.voids
    publisher.down = False
    await services.recovery.run_once()  # the void is on Kafka, not yet in the database
    for key in (None, "k-1"):
        retry = await handlers.place_order(command, key, services.deps)
        assert (retry.status, retry.body) == (503, {"error": "previous_attempt_voided"})
        assert retry.retry_after == 1  # never already_purchased with the voided id
    assert services.deps.idempotency.answers == {}  # type: ignore[attr-defined]
    reservations.release("s1", order_id, "u1", 1)  # the consumer applied the void
    again = await handlers.place_order(command, "k-1", services.deps)
    assert again.status == 202 and again.body["order_id"] != order_id


async def test_recovery_republishes_only_old_pending_reservations() -> None:
    clock = FakeClock(now=1_000.0)
    services = fake_services(clock)
    reservations, publisher = parts(services)
    placed = OrderPlaced(
        order_id=uuid.uuid4(), sale_id="s1", user_id="u1", quantity=1, placed_at=datetime.now(UTC)
    )
    reservations.pending[str(placed.order_id)] = ("s1", placed.model_dump_json(), 1_000_000)
    assert (await services.recovery.run_once()).republished == 0  # too young: its request may live
    clock.now += 11
    assert (await services.recovery.run_once()).republished == 1
    assert [decode_event(p) for _, p in publisher.sent] == [placed]
    assert reservations.pending == {}


async def test_same_idempotency_key_same_answer() -> None:
    services = fake_services()
    reservations, publisher = parts(services)
    reservations.add_sale("s1", stock=5)
    command = PlaceOrder(sale_id="s1", user_id="u1")
    first = await handlers.place_order(command, "k-1", services.deps)
    second = await handlers.place_order(command, "k-1", services.deps)
    assert first.status == second.status == 202 and first.body == second.body
    assert len(publisher.sent) == 1


async def test_order_status_db_then_pending_then_unknown() -> None:
    services = fake_services()
    reservations, _ = parts(services)
    orders = cast(FakeOrders, services.deps.orders)
    created, pending, unknown = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    orders.rows[created] = OrderRecord("CREATED", "u1")
    reservations.pointers[str(pending)] = "s1"
    assert (await handlers.order_status(created, services.deps)).body["status"] == "CREATED"
    assert (await handlers.order_status(pending, services.deps)).body["status"] == "PENDING"
    assert (await handlers.order_status(unknown, services.deps)).status == 404


async def test_with_an_identity_only_the_owner_reads_an_order() -> None:
    services = fake_services()
    reservations, _ = parts(services)
    reservations.add_sale("s1", stock=5)
    deps = services.deps
    pending = await handlers.place_order(PlaceOrder(sale_id="s1", user_id="u1"), None, deps)
    pending_id = uuid.UUID(pending.body["order_id"])  # acknowledged, not yet written
    written = uuid.uuid4()
    cast(FakeOrders, deps.orders).rows[written] = OrderRecord("CREATED", "u1")
    for order_id, status in ((pending_id, "PENDING"), (written, "CREATED")):
        mine = await handlers.order_status(order_id, deps, identity="u1")
        assert (mine.status, mine.body["status"]) == (200, status)
        theirs = await handlers.order_status(order_id, deps, identity="u2")
        assert (theirs.status, theirs.body) == (403, {"error": "not_order_owner"})
    unknown = await handlers.order_status(uuid.uuid4(), deps, identity="u2")
    assert unknown.status == 404


async def test_a_body_naming_someone_else_is_refused_before_any_store_is_touched() -> None:
    services = fake_services()
    reservations, publisher = parts(services)
    reservations.add_sale("s1", stock=5)
    command = PlaceOrder(sale_id="s1", user_id="victim")
    for key in (None, "k-1"):
        answer = await handlers.place_order(command, key, services.deps, identity="mallory")
        assert (answer.status, answer.body) == (403, {"error": "identity_mismatch"})
    assert reservations.calls == 0 and publisher.sent == []
    assert services.deps.idempotency.answers == {}  # type: ignore[attr-defined]
    own = await handlers.place_order(command, None, services.deps, identity="victim")
    assert own.status == 202


async def test_a_retry_during_a_slow_produce_waits_instead_of_learning_the_id() -> None:
    services = fake_services()
    reservations, publisher = parts(services)
    reservations.add_sale("s1", stock=5)
    publisher.gate = asyncio.Event()  # Kafka has not acknowledged yet
    command = PlaceOrder(sale_id="s1", user_id="u1")
    first = asyncio.create_task(handlers.place_order(command, None, services.deps))
    await asyncio.sleep(0.01)
    assert reservations.pending  # reserved, the produce in flight
    for key in (None, "k-1"):
        retry = await handlers.place_order(command, key, services.deps)
        assert (retry.status, retry.body) == (503, {"error": "previous_attempt_pending"})
        assert retry.retry_after == 1  # never the id of an order that may yet be voided
    publisher.gate.set()
    token = await first
    assert token.status == 202
    after_ack = await handlers.place_order(command, "k-1", services.deps)
    assert after_ack.status == 409 and after_ack.body["order_id"] == token.body["order_id"]


async def test_a_fenced_sale_answers_503_and_reserves_nothing() -> None:
    services = fake_services()
    reservations, publisher = parts(services)
    reservations.add_sale("s1", stock=5)
    reservations.fence("s1")
    answer = await handlers.place_order(PlaceOrder(sale_id="s1", user_id="u1"), "k", services.deps)
    assert (answer.status, answer.body) == (503, {"error": "sale_under_repair"})
    assert answer.retry_after == 1
    assert reservations.sales["s1"].stock == 5 and reservations.sales["s1"].buyers == {}
    assert publisher.sent == [] and services.deps.idempotency.answers == {}  # type: ignore[attr-defined]


async def test_create_sale_loads_stock_once_and_refuses_a_different_sale_with_its_id() -> None:
    services = fake_services()
    stock = cast(FakeStock, services.deps.stock)
    now = datetime.now(UTC)
    sale = CreateSale(sale_id="s9", name="n", stock=3, starts_at=now, ends_at=now + timedelta(1))
    assert (await handlers.create_sale(sale, services.deps)).status == 201
    assert (await handlers.create_sale(sale, services.deps)).status == 200  # a retry
    other = sale.model_copy(update={"stock": 4})
    assert (await handlers.create_sale(other, services.deps)).status == 409
    assert stock.loaded == ["s9"]
    backwards = sale.model_copy(update={"sale_id": "s10", "ends_at": now})
    assert (await handlers.create_sale(backwards, services.deps)).status == 422


async def test_reposting_a_sale_redis_lost_reloads_it_only_if_nothing_was_sold() -> None:
    services = fake_services()
    stock, sales = cast(FakeStock, services.deps.stock), cast(FakeSales, services.deps.sales)
    now = datetime.now(UTC)
    fresh = CreateSale(sale_id="s1", name="n", stock=3, starts_at=now, ends_at=now + timedelta(1))
    sold = fresh.model_copy(update={"sale_id": "s2"})
    for sale in (fresh, sold):
        assert (await handlers.create_sale(sale, services.deps)).status == 201
        stock.lose(sale.sale_id)
    # s1: the crash between the DB row and Redis, nothing sold: loading it is right.
    assert (await handlers.create_sale(fresh, services.deps)).status == 200
    assert stock.loaded == ["s1"]
    # s2 sold units: reloading total_stock would resell them. Only a repair may.
    sales.sold.add("s2")
    refused = await handlers.create_sale(sold, services.deps)
    assert (refused.status, refused.body) == (
        409,
        {"error": "sale_needs_repair", "sale_id": "s2", "hint": "flashsale repair --sale s2"},
    )
    assert stock.loaded == ["s1"]
