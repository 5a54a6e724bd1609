"""The order service refuses to start with an admin token that would not protect /admin."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from order_service.settings import MIN_ADMIN_TOKEN_LENGTH, OrderServiceSettings


@pytest.mark.parametrize(
    "token", ["", "   ", "\t\n", "changeme", "x" * (MIN_ADMIN_TOKEN_LENGTH - 1)]
)
@pytest.mark.parametrize("dev_mode", [False, True])
def test_an_empty_blank_or_short_admin_token_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, token: str, dev_mode: bool
) -> None:
    monkeypatch.setenv("FLASHSALE_ADMIN_TOKEN", token)  # as the service reads it
    with pytest.raises(ValidationError, match="FLASHSALE_ADMIN_TOKEN"):
        OrderServiceSettings(dev_mode=dev_mode)


def test_a_long_enough_token_is_kept_and_none_in_dev_mode_gets_a_random_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = "t" * MIN_ADMIN_TOKEN_LENGTH
    monkeypatch.setenv("FLASHSALE_ADMIN_TOKEN", token)
    settings = OrderServiceSettings()
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == token
    monkeypatch.delenv("FLASHSALE_ADMIN_TOKEN")
    made_up = OrderServiceSettings(dev_mode=True).admin_token
    assert made_up is not None and len(made_up.get_secret_value()) >= MIN_ADMIN_TOKEN_LENGTH
    with pytest.raises(ValidationError, match="required"):
        OrderServiceSettings(dev_mode=False)
