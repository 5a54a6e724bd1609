from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from flashsale.contracts import (
    ContractError,
    OrderPlaced,
    OrderVoided,
    PlaceOrder,
    decode_event,
    encode,
)


def _placed() -> OrderPlaced:
    return OrderPlaced(
        order_id=uuid.uuid4(), sale_id="s-1", user_id="u-1", quantity=2, placed_at=datetime.now(UTC)
    )


def test_an_event_survives_the_wire_with_its_type_version_and_id() -> None:
    event = _placed()
    decoded = decode_event(encode(event))
    assert decoded == event
    assert isinstance(decoded, OrderPlaced)
    assert decoded.version == 1


def test_decode_dispatches_on_the_type_field() -> None:
    void = OrderVoided(
        order_id=uuid.uuid4(), sale_id="s", user_id="u", quantity=1, reason="timeout"
    )
    assert isinstance(decode_event(encode(void)), OrderVoided)


def test_every_event_gets_its_own_id() -> None:
    assert _placed().event_id != _placed().event_id


@pytest.mark.parametrize(
    "raw",
    [
        None,
        b"",
        b"not json",
        b"{}",
        b'{"type": "OrderPlaced"}',
        b'{"type": "Nope", "version": 1}',
        encode(_placed()).replace(b'"version":1', b'"version":99'),
    ],
)
def test_anything_else_is_a_contract_error(raw: bytes | None) -> None:
    with pytest.raises(ContractError):
        decode_event(raw)


def test_commands_validate_their_fields() -> None:
    with pytest.raises(ValueError, match="quantity"):
        PlaceOrder(sale_id="s", user_id="u", quantity=0)
    with pytest.raises(ValueError, match="sale_id"):
        PlaceOrder(sale_id="has spaces", user_id="u")
