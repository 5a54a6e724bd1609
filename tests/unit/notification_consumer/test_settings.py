"""The notification consumer reads its metrics listener from variables of its own, so that
one env file (the compose stack's) can hold both consumers' listeners."""

from __future__ import annotations

import pytest

from notification_consumer.settings import NotificationConsumerSettings


def test_the_metrics_listener_comes_from_its_own_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASHSALE_INVENTORY_METRICS_PORT", "9101")  # the other consumer's
    monkeypatch.setenv("FLASHSALE_NOTIFICATION_METRICS_PORT", "9102")
    monkeypatch.setenv("FLASHSALE_NOTIFICATION_METRICS_HOST", "0.0.0.0")
    settings = NotificationConsumerSettings()
    assert (settings.metrics_port, settings.metrics_host) == (9102, "0.0.0.0")


def test_no_metrics_listener_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLASHSALE_NOTIFICATION_METRICS_PORT", raising=False)
    monkeypatch.setenv("FLASHSALE_METRICS_PORT", "9100")  # the prefix alone names no consumer
    settings = NotificationConsumerSettings()
    assert (settings.metrics_port, settings.metrics_host) == (None, "127.0.0.1")
