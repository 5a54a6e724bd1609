"""The message contracts every service speaks: commands in the imperative, events in the
past tense. Each message carries `type`, `version` and a unique `event_id`/`command_id`.

Events travel on Kafka as UTF-8 JSON. `decode_event` turns bytes back into the right
class, or raises `ContractError`: a consumer sends such a message to the DLQ at once,
since no retry can fix it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from flashsale.ids import uuid7

__all__ = [
    "SALE_ID_PATTERN",
    "USER_ID_PATTERN",
    "ContractError",
    "CreateSale",
    "Event",
    "OrderCancelled",
    "OrderCreated",
    "OrderFailed",
    "OrderPaid",
    "OrderPlaced",
    "OrderReinstated",
    "OrderStatus",
    "OrderVoided",
    "PayOrder",
    "PerUserLimit",
    "PlaceOrder",
    "Quantity",
    "SaleId",
    "SaleName",
    "StockUnits",
    "UserId",
    "decode_event",
    "encode",
]

# Ids are short printable tokens: they become Redis keys, Kafka keys and URL segments.
SALE_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
USER_ID_PATTERN = r"^[A-Za-z0-9_.@+-]{1,128}$"
SaleId = Annotated[str, Field(pattern=SALE_ID_PATTERN)]
UserId = Annotated[str, Field(pattern=USER_ID_PATTERN)]
Quantity = Annotated[int, Field(ge=1, le=1000)]
# A sale's own fields, shared by CreateSale and the admin route's body (one set of limits).
SaleName = Annotated[str, Field(min_length=1, max_length=200)]
StockUnits = Annotated[int, Field(ge=0, le=100_000_000)]
PerUserLimit = Annotated[int, Field(ge=1, le=1000)]


def _now() -> datetime:
    return datetime.now(UTC)


class OrderStatus(StrEnum):
    PENDING = "PENDING"  # reserved in Redis, on the orders topic, not yet in the DB
    CREATED = "CREATED"  # written by the inventory consumer, awaiting payment
    PAID = "PAID"
    CANCELLED = "CANCELLED"  # unpaid past its TTL; stock released
    FAILED = "FAILED"  # voided or poisoned; stock released


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Command(Contract):
    command_id: uuid.UUID = Field(default_factory=uuid7)


class Event(Contract):
    event_id: uuid.UUID = Field(default_factory=uuid7)
    occurred_at: datetime = Field(default_factory=_now)


# --- commands -------------------------------------------------------------------------


class PlaceOrder(Command):
    type: Literal["PlaceOrder"] = "PlaceOrder"
    version: Literal[1] = 1
    sale_id: SaleId
    user_id: UserId
    quantity: Quantity = 1


class PayOrder(Command):
    type: Literal["PayOrder"] = "PayOrder"
    version: Literal[1] = 1
    order_id: uuid.UUID


class CreateSale(Command):
    type: Literal["CreateSale"] = "CreateSale"
    version: Literal[1] = 1
    sale_id: SaleId
    name: SaleName
    stock: StockUnits
    starts_at: datetime
    ends_at: datetime
    per_user_limit: PerUserLimit = 1


# --- events on the orders topic (admission → fulfilment) -------------------------------


class OrderPlaced(Event):
    """Stock was reserved in Redis for this order; the client holds its order id."""

    type: Literal["OrderPlaced"] = "OrderPlaced"
    version: Literal[1] = 1
    order_id: uuid.UUID
    sale_id: SaleId
    user_id: UserId
    quantity: Quantity
    placed_at: datetime


class OrderVoided(Event):
    """The client never got this order id (its produce failed): the order is final-dead."""

    type: Literal["OrderVoided"] = "OrderVoided"
    version: Literal[1] = 1
    order_id: uuid.UUID
    sale_id: SaleId
    user_id: UserId
    quantity: Quantity
    reason: str


# --- events on the order-events topic (written through the outbox) -----------------------


class OrderCreated(Event):
    type: Literal["OrderCreated"] = "OrderCreated"
    version: Literal[1] = 1
    order_id: uuid.UUID
    sale_id: SaleId
    user_id: UserId
    quantity: Quantity
    expires_at: datetime


class OrderPaid(Event):
    type: Literal["OrderPaid"] = "OrderPaid"
    version: Literal[1] = 1
    order_id: uuid.UUID
    sale_id: SaleId
    user_id: UserId


class OrderCancelled(Event):
    type: Literal["OrderCancelled"] = "OrderCancelled"
    version: Literal[1] = 1
    order_id: uuid.UUID
    sale_id: SaleId
    user_id: UserId
    quantity: Quantity
    reason: str


class OrderFailed(Event):
    type: Literal["OrderFailed"] = "OrderFailed"
    version: Literal[1] = 1
    order_id: uuid.UUID
    sale_id: SaleId
    user_id: UserId
    quantity: Quantity
    reason: str


class OrderReinstated(Event):
    """A void arrived for an order whose OrderPlaced had reached Kafka: the order stands.
    The relay turns the user's "void:<id>" slot back into the order id."""

    type: Literal["OrderReinstated"] = "OrderReinstated"
    version: Literal[1] = 1
    order_id: uuid.UUID
    sale_id: SaleId
    user_id: UserId


AnyEvent = Annotated[
    OrderPlaced
    | OrderVoided
    | OrderCreated
    | OrderPaid
    | OrderCancelled
    | OrderFailed
    | OrderReinstated,
    Field(discriminator="type"),
]
_EVENTS: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


class ContractError(ValueError):
    """The bytes are not a valid message of any known type and version."""


def encode(message: Contract) -> bytes:
    # The JSON bytes model_dump_json() would give as str, without the decode and encode.
    return message.__pydantic_serializer__.to_json(message)


def decode_event(raw: bytes | str | None) -> AnyEvent:
    if raw is None:
        raise ContractError("empty message (tombstone)")
    try:
        return _EVENTS.validate_json(raw)
    except ValidationError as exc:
        raise ContractError(str(exc.errors(include_url=False))[:1000]) from exc
