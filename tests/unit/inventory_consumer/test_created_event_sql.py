"""The OrderCreated payload the consumer's SQL builds: one key per field of the contract,
so that a field added to (or renamed in) the event cannot silently go missing from it."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from flashsale.contracts import OrderCreated
from inventory_consumer.adapters.sql import _CREATE, _CREATED_EVENT, _json_object


class Pair(BaseModel):
    a: int
    b: str


def test_the_statement_writes_each_field_s_expression() -> None:
    # That the fields are the contract's is checked at import (_json_object, below).
    for field, expr in _CREATED_EVENT.items():
        assert f"'{field}', {expr}" in str(_CREATE)


@pytest.mark.parametrize(
    "exprs", [{"a": "1"}, {"a": "1", "b": "'x'", "c": "2"}, {"a": "1", "c": "2"}]
)
def test_a_field_missing_or_extra_is_refused(exprs: dict[str, str]) -> None:
    with pytest.raises(TypeError, match="Pair"):
        _json_object(exprs, Pair)


def test_the_literal_fields_are_the_contract_s_own() -> None:
    assert _CREATED_EVENT["type"] == f"'{OrderCreated.model_fields['type'].default}'"
    assert _CREATED_EVENT["version"] == str(OrderCreated.model_fields["version"].default)
