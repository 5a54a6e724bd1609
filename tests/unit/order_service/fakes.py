"""Hand-written fakes of the order service's ports (no mock.patch): in-memory, inspectable."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field, replace

from flashsale.async_producer import DeliveryFailed
from flashsale.contracts import CreateSale, PayOrder
from order_service.bootstrap import Services, bootstrap
from order_service.breaker import KafkaBreaker
from order_service.domain import (
    VOID_PREFIX,
    Outcome,
    Reservation,
    SaleState,
    decide,
    ended_and_settled,
)
from order_service.payments import PaymentOutcome, PaymentResult
from order_service.ports import Due, OrderPayments, OrderRecord
from order_service.settings import OrderServiceSettings
from order_service.soldout import StockChannelFlags


class FakeReservations:
    def __init__(self) -> None:
        self.sales: dict[str, SaleState] = {}
        self.pending: dict[str, tuple[str, str, int]] = {}  # order -> (sale, payload, at_ms)
        self.voids: dict[str, tuple[str, str]] = {}  # order -> (sale, payload)
        self.pointers: dict[str, str] = {}
        self.listed: set[str] = set()  # the `flashsale:sales` set the recovery scans
        self.calls = 0

    def add_sale(
        self, sale_id: str, stock: int, limit: int = 1, now_ms: int = 0, ends_in_ms: int = 10**12
    ) -> None:
        self.sales[sale_id] = SaleState(now_ms - 1, now_ms + ends_in_ms, limit, stock, {})
        self.listed.add(sale_id)

    def fence(self, sale_id: str) -> None:
        """What `flashsale repair` does first: the meta hash's `fenced` field."""
        self.sales[sale_id] = replace(self.sales[sale_id], fenced=True)

    def _state(self, sale_id: str) -> SaleState | None:
        """The sale as reserve.lua sees it: meta, stock, buyers and the pending hash."""
        sale = self.sales.get(sale_id)
        pending = frozenset(o for o, (s, _, _) in self.pending.items() if s == sale_id)
        return None if sale is None else replace(sale, pending=pending)

    async def reserve(
        self, sale_id: str, user_id: str, quantity: int, order_id: str, now_ms: int, placed: str
    ) -> Reservation:
        self.calls += 1
        sale = self._state(sale_id)
        result = decide(sale, user_id, quantity, order_id, now_ms)
        if sale is not None and result.outcome is Outcome.RESERVED:
            self.sales[sale_id] = replace(
                sale, stock=sale.stock - quantity, buyers={**sale.buyers, user_id: order_id}
            )
            self.pending[order_id] = (sale_id, placed, now_ms)
        return result

    async def acknowledged(self, sale_id: str, order_id: str) -> None:
        self.pending.pop(order_id, None)
        self.pointers[order_id] = sale_id

    async def mark_void(self, sale_id: str, user_id: str, order_id: str, voided: str) -> None:
        self.pending.pop(order_id, None)
        self.voids[order_id] = (sale_id, voided)
        sale = self.sales[sale_id]
        if sale.buyers.get(user_id) == order_id:  # as mark_void.lua: only its own slot
            self.sales[sale_id] = replace(
                sale, buyers={**sale.buyers, user_id: VOID_PREFIX + order_id}
            )

    def release(self, sale_id: str, order_id: str, user_id: str, quantity: int) -> None:
        """What release.lua does when the consumer's relay returns a failed order's stock."""
        sale = self.sales[sale_id]
        buyers = dict(sale.buyers)
        if buyers.get(user_id) in (order_id, VOID_PREFIX + order_id):
            del buyers[user_id]
        self.sales[sale_id] = replace(sale, stock=sale.stock + quantity, buyers=buyers)

    async def void_settled(self, sale_id: str, order_id: str) -> None:
        self.voids.pop(order_id, None)

    async def due_pending(self, older_than_ms: int, limit: int) -> list[Due]:
        return [Due(s, o, p) for o, (s, p, at) in self.pending.items() if at <= older_than_ms][
            :limit
        ]

    async def due_voids(self, limit: int) -> list[Due]:
        return [Due(s, o, p) for o, (s, p) in self.voids.items()][:limit]

    async def sale_of_order(self, order_id: str) -> str | None:
        return self.pointers.get(order_id)

    async def order_of_buyer(self, sale_id: str, user_id: str) -> str | None:
        sale = self.sales.get(sale_id)
        return None if sale is None else sale.buyers.get(user_id)

    async def prune_ended(self, ended_before_ms: int) -> list[str]:
        pruned = []
        for sale_id in sorted(self.listed):
            sale = self.sales.get(sale_id)
            entries = [*self.pending.values(), *self.voids.values()]
            unsettled = sum(1 for entry in entries if entry[0] == sale_id)
            ends_at_ms = None if sale is None else sale.ends_at_ms
            if ended_and_settled(ends_at_ms, unsettled, ended_before_ms):
                pruned.append(sale_id)
        self.listed -= set(pruned)
        return pruned


class FakeIdempotency:
    def __init__(self) -> None:
        self.answers: dict[tuple[str, str, str], str] = {}

    async def claim(self, sale_id: str, user_id: str, key: str) -> str | None:
        if (sale_id, user_id, key) in self.answers:
            return self.answers[(sale_id, user_id, key)]
        self.answers[(sale_id, user_id, key)] = ""
        return None

    async def store(self, sale_id: str, user_id: str, key: str, answer: str) -> None:
        self.answers[(sale_id, user_id, key)] = answer

    async def forget(self, sale_id: str, user_id: str, key: str) -> None:
        self.answers.pop((sale_id, user_id, key), None)


@dataclass
class FakePublisher:
    down: bool = False
    healthy: bool = True
    # While set and not open, a publish waits for it: a slow broker, an ack in flight.
    gate: asyncio.Event | None = None
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    async def publish(self, key: str, payload: bytes) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise DeliveryFailed("broker down (fake)")
        self.sent.append((key, payload))


@dataclass
class FakeSales:
    rows: dict[str, CreateSale] = field(default_factory=dict)
    sold: set[str] = field(default_factory=set)  # sales with an order row or less stock

    async def add(self, sale: CreateSale) -> str:
        old = self.rows.get(sale.sale_id)
        if old is None:
            self.rows[sale.sale_id] = sale
            return "created"
        same = old.model_dump(exclude={"command_id"}) == sale.model_dump(exclude={"command_id"})
        return "same" if same else "conflict"

    async def untouched(self, sale_id: str) -> bool:
        return sale_id not in self.sold


@dataclass
class FakeStock:
    loaded: list[str] = field(default_factory=list)

    def lose(self, sale_id: str) -> None:
        """Redis lost the sale's keys (a flush, a failover without the AOF)."""
        self.loaded = [s for s in self.loaded if s != sale_id]

    async def is_loaded(self, sale_id: str) -> bool:
        return sale_id in self.loaded

    async def load(self, sale: CreateSale) -> None:
        self.loaded.append(sale.sale_id)


@dataclass
class FakeOrders:
    rows: dict[uuid.UUID, OrderRecord] = field(default_factory=dict)

    async def find(self, order_id: uuid.UUID) -> OrderRecord | None:
        return self.rows.get(order_id)


@dataclass
class FakePayments:
    """Orders by id: (status, owner). Pays a CREATED one, as the SQL UPDATE does."""

    rows: dict[uuid.UUID, tuple[str, str]] = field(default_factory=dict)

    def pay(self, command: PayOrder, payer: str | None = None) -> PaymentResult:
        found = self.rows.get(command.order_id)
        if found is None:
            return PaymentResult(command.order_id, PaymentOutcome.NOT_FOUND)
        status, owner = found
        if payer is not None and payer != owner:
            return PaymentResult(command.order_id, PaymentOutcome.NOT_OWNER)
        if status == "PAID":
            return PaymentResult(command.order_id, PaymentOutcome.ALREADY_PAID)
        self.rows[command.order_id] = ("PAID", owner)
        return PaymentResult(command.order_id, PaymentOutcome.PAID)


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def fake_services(
    clock: FakeClock | None = None, *, payments: OrderPayments | None = None, **settings: object
) -> Services:
    """Every adapter faked (no network), one fake clock for all; `payments` may be real."""
    clock = clock or FakeClock()
    config = OrderServiceSettings(dev_mode=True, **settings)  # type: ignore[arg-type]
    return bootstrap(
        config,
        reservations=FakeReservations(),
        idempotency=FakeIdempotency(),
        stock=FakeStock(),
        publisher=FakePublisher(),
        sales=FakeSales(),
        orders=FakeOrders(),
        payments=payments or FakePayments(),
        flags=StockChannelFlags(60.0, clock=clock),
        breaker=KafkaBreaker(2.0, clock=clock),
        clock=clock,
    )
