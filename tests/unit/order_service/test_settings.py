"""The order service's settings: an admin token that protects /admin, and the env vars
named for the service that set its host and port."""

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


def test_host_and_port_come_from_the_service_named_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLASHSALE_DEV_MODE", "true")
    for name in ("FLASHSALE_ORDER_SERVICE_HOST", "FLASHSALE_ORDER_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLASHSALE_PORT", "9999")  # too generic a name: never read
    monkeypatch.setenv("FLASHSALE_HOST", "10.0.0.9")
    assert (OrderServiceSettings().host, OrderServiceSettings().port) == ("127.0.0.1", 18081)
    # The variables infra/local/services.sh reads for the order service's port.
    monkeypatch.setenv("FLASHSALE_ORDER_SERVICE_HOST", "0.0.0.0")
    monkeypatch.setenv("FLASHSALE_ORDER_SERVICE_PORT", "18181")
    settings = OrderServiceSettings()
    assert (settings.host, settings.port) == ("0.0.0.0", 18181)


def test_a_linger_librdkafka_would_refuse_is_refused_at_start() -> None:
    """librdkafka refuses a producer whose linger.ms is not below message.timeout.ms:
    caught by the settings, not by a worker restarting every second."""
    with pytest.raises(ValidationError, match="kafka_linger_ms"):
        OrderServiceSettings(dev_mode=True, kafka_delivery_timeout_ms=500, kafka_linger_ms=500)
    fine = OrderServiceSettings(dev_mode=True, kafka_delivery_timeout_ms=500, kafka_linger_ms=499)
    assert fine.kafka_linger_ms == 499
