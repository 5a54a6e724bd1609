"""The use cases: place an order, read its status, pay it, create a sale. No HTTP, no Redis
here: only the ports, so the unit tests drive these with fakes."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from flashsale.async_producer import DeliveryFailed
from flashsale.contracts import CreateSale, OrderPlaced, OrderStatus, PayOrder, PlaceOrder, encode
from flashsale.ids import uuid7
from order_service.breaker import KafkaBreaker
from order_service.domain import Outcome, Reservation, placed_event, void_event
from order_service.payments import PaymentOutcome
from order_service.ports import (
    Due,
    IdempotencyStore,
    OrderPayments,
    OrderPublisher,
    OrderStatusReader,
    Reservations,
    SalesRepository,
    SaleStock,
)
from order_service.redelivery import settle_void
from order_service.soldout import StockChannelFlags
from order_service.telemetry import OrderMetrics

__all__ = ["Answer", "Deps", "create_sale", "order_status", "pay_order", "place_order"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    retry_after: int | None = None

    def dumps(self) -> str:
        return orjson.dumps({"status": self.status, "body": self.body}).decode()

    @classmethod
    def loads(cls, raw: str) -> Answer:
        stored = orjson.loads(raw)
        return cls(int(stored["status"]), dict(stored["body"]))


@dataclass
class Deps:
    reservations: Reservations
    idempotency: IdempotencyStore
    publisher: OrderPublisher
    sales: SalesRepository
    stock: SaleStock
    orders: OrderStatusReader
    payments: OrderPayments
    flags: StockChannelFlags
    breaker: KafkaBreaker
    retry_after_s: int = 1
    metrics: OrderMetrics = field(default_factory=OrderMetrics)
    # Runs a coroutine in the background (bootstrap keeps the task and cancels it on stop).
    spawn: Callable[[Coroutine[Any, Any, Any]], None] = lambda coro: coro.close()
    clock: Callable[[], float] = time.time


SOLD_OUT = Answer(409, {"error": "sold_out"})
NOT_ACTIVE = Answer(409, {"error": "sale_not_active"})
UNKNOWN_SALE = Answer(404, {"error": "unknown_sale"})
IDENTITY_MISMATCH = Answer(403, {"error": "identity_mismatch"})
NOT_ORDER_OWNER = Answer(403, {"error": "not_order_owner"})
PAYMENT_REFUSALS = {
    PaymentOutcome.NOT_OWNER: 403,
    PaymentOutcome.NOT_FOUND: 404,
    PaymentOutcome.EXPIRED: 409,
    PaymentOutcome.CANCELLED: 409,
    PaymentOutcome.FAILED: 409,
}


def unavailable(deps: Deps, reason: str) -> Answer:
    return Answer(503, {"error": reason}, retry_after=deps.retry_after_s)


async def place_order(
    command: PlaceOrder, idempotency_key: str | None, deps: Deps, identity: str | None = None
) -> Answer:
    """Without an Idempotency-Key the edge middleware (shortcuts.py) already answered a raised
    sold-out flag; one that let the request through made it the flag's probe, which must
    reach Redis. With a key both edges skip the flag and the request always reaches
    reserve.lua: a keyed retry may come from a buyer whose first attempt got a 503 while
    its order landed anyway (a late void that lost), who must learn that order
    (already_purchased), not "sold out". The gateway's rate limits bound these calls.

    `identity` is the authenticated user the gateway vouches for: a body naming someone
    else is refused before anything is read or reserved in their name."""
    if identity is not None and identity != command.user_id:
        return IDENTITY_MISMATCH
    if idempotency_key is None:
        return await _place(command, deps)
    sale_id, user_id = command.sale_id, command.user_id
    stored = await deps.idempotency.claim(sale_id, user_id, idempotency_key)
    if stored == "":  # the first request with this key is still running
        return unavailable(deps, "request_in_progress")
    if stored is not None:
        return Answer.loads(stored)
    try:
        answer = await _place(command, deps)
    except Exception:  # Redis or PostgreSQL failed mid-way: the app answers 503
        await deps.idempotency.forget(sale_id, user_id, idempotency_key)
        raise
    if answer.status == 503:  # nothing happened: let a retry with this key try again
        await deps.idempotency.forget(sale_id, user_id, idempotency_key)
    else:
        await deps.idempotency.store(sale_id, user_id, idempotency_key, answer.dumps())
    return answer


async def _place(command: PlaceOrder, deps: Deps) -> Answer:
    if not deps.breaker.allow():  # Kafka just failed: fail fast, reserve nothing
        return unavailable(deps, "kafka_unavailable")
    now = deps.clock()
    order_id = uuid7(int(now * 1000))  # time-ordered: see flashsale/ids.py
    placed = placed_event(command, order_id, datetime.fromtimestamp(now, UTC))
    payload = encode(placed)
    reservation = await deps.reservations.reserve(
        command.sale_id,
        command.user_id,
        command.quantity,
        str(placed.order_id),
        int(now * 1000),
        payload.decode(),
    )
    if reservation.sold_out_for_everyone:
        deps.flags.mark(command.sale_id)
    elif reservation.stock_left is not None:  # stock came back (a void, an expiry)
        deps.flags.clear(command.sale_id)
    deps.metrics.admission(command.sale_id, reservation)
    if reservation.outcome is not Outcome.RESERVED:
        return _refusal(reservation, deps)
    return await _publish(placed, payload, deps)


def _refusal(reservation: Reservation, deps: Deps) -> Answer:
    match reservation.outcome:
        case Outcome.SOLD_OUT:
            return SOLD_OUT
        case Outcome.ALREADY_PURCHASED:
            return Answer(409, {"error": "already_purchased", "order_id": reservation.order_id})
        case Outcome.VOID_PENDING:  # the slot frees once the consumer applied the void
            return unavailable(deps, "previous_attempt_voided")
        case Outcome.PENDING:  # its id becomes a token only once Kafka acknowledged it
            return unavailable(deps, "previous_attempt_pending")
        case Outcome.FENCED:  # `flashsale repair` reopens the sale when it is done
            return unavailable(deps, "sale_under_repair")
        case Outcome.NOT_ACTIVE:
            return NOT_ACTIVE
        case Outcome.OVER_LIMIT:
            limit = reservation.per_user_limit
            return Answer(422, {"error": "quantity_over_limit", "per_user_limit": limit})
    return UNKNOWN_SALE


async def _publish(placed: OrderPlaced, payload: bytes, deps: Deps) -> Answer:
    sale_id, user_id, order_id = placed.sale_id, placed.user_id, str(placed.order_id)
    try:
        await deps.publisher.publish(user_id, payload)
    except DeliveryFailed as exc:
        # Ambiguous: the message may have landed. Void it (never undo it) and answer 503.
        deps.breaker.failed()
        voided = encode(void_event(placed, f"produce failed: {exc}")).decode()
        await deps.reservations.mark_void(sale_id, user_id, order_id, voided)
        due = Due(sale_id, order_id, voided)
        deps.spawn(settle_void(due, deps.publisher, deps.reservations, deps.breaker))
        return unavailable(deps, "kafka_unavailable")
    deps.breaker.succeeded()
    try:
        await deps.reservations.acknowledged(sale_id, order_id)
    except Exception:  # the order is safe on Kafka; recovery re-publishes it (idempotent)
        log.warning("could not clear pending order %s", order_id, exc_info=True)
    return Answer(
        202,
        {"order_id": order_id, "status": "PENDING", "status_url": f"/api/orders/{order_id}"},
    )


async def order_status(order_id: uuid.UUID, deps: Deps, identity: str | None = None) -> Answer:
    """With an identity (the gateway's X-Authenticated-User), only its owner may read an
    order: a written one by its row's user, a PENDING one by the user's buyers slot."""
    found = await deps.orders.find(order_id)
    if found is not None:
        if identity is not None and found.user_id != identity:
            return NOT_ORDER_OWNER
        return Answer(200, {"order_id": str(order_id), "status": found.status})
    sale_id = await deps.reservations.sale_of_order(str(order_id))
    if sale_id is None:
        return Answer(404, {"error": "unknown_order"})
    if identity is not None and not await _holds(deps, sale_id, identity, str(order_id)):
        return NOT_ORDER_OWNER
    return Answer(200, {"order_id": str(order_id), "status": OrderStatus.PENDING})


async def _holds(deps: Deps, sale_id: str, user_id: str, order_id: str) -> bool:
    """A PENDING order is on the topic, not yet in the database: the user's buyers slot
    in the sale is what says whose it is."""
    return await deps.reservations.order_of_buyer(sale_id, user_id) == order_id


def pay_order(command: PayOrder, deps: Deps, payer: str | None = None) -> Answer:
    """Sync, as the SQL engine is: its route runs in FastAPI's thread pool. With a payer
    (the gateway's X-Authenticated-User), only the order's owner may pay it."""
    result = deps.payments.pay(command, payer)
    order_id = str(command.order_id)
    refused = PAYMENT_REFUSALS.get(result.outcome)
    if refused is not None:
        return Answer(refused, {"order_id": order_id, "error": result.outcome.value})
    already_paid = result.outcome is PaymentOutcome.ALREADY_PAID
    return Answer(200, {"order_id": order_id, "status": "PAID", "already_paid": already_paid})


async def create_sale(sale: CreateSale, deps: Deps) -> Answer:
    if sale.ends_at <= sale.starts_at:
        return Answer(422, {"error": "ends_at must be after starts_at"})
    result = await deps.sales.add(sale)
    if result == "conflict":
        return Answer(409, {"error": "sale_exists", "sale_id": sale.sale_id})
    created = {"sale_id": sale.sale_id, "stock": sale.stock}
    if result == "created":
        await deps.stock.load(sale)
        return Answer(201, created)
    if not await deps.stock.is_loaded(sale.sale_id):
        # Redis lost the sale. Loading total_stock is right only after a crash between
        # the DB row and Redis, when nothing was ever sold; otherwise it would resell
        # sold units and forget the buyers: only a repair from PostgreSQL may rebuild it.
        if not await deps.sales.untouched(sale.sale_id):
            return needs_repair(sale.sale_id)
        await deps.stock.load(sale)
    return Answer(200, created)  # the same sale again: a retry


def needs_repair(sale_id: str) -> Answer:
    hint = f"flashsale repair --sale {sale_id}"
    return Answer(409, {"error": "sale_needs_repair", "sale_id": sale_id, "hint": hint})
