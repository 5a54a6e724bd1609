"""`python -m notification_consumer` serves its metrics: main() reads the port and host from
FLASHSALE_NOTIFICATION_METRICS_*, and a real HTTP GET of /metrics shows what the handler
counted. The broker side is replaced by a fake app that handles one batch."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

import notification_consumer.__main__ as entry_point
from flashsale.contracts import OrderCreated, encode
from flashsale.metrics import Metrics
from notification_consumer.handlers import NotificationBatchHandler, SendPolicy
from notification_consumer.settings import NotificationConsumerSettings
from tests.net import free_port
from tests.unit.fakes import FakeDlq, kafka_message
from tests.unit.notification_consumer.fakes import FakeChannel, FakeStore


class OneBatchApp:
    """What bootstrap() returns, minus Kafka: handles one OrderCreated, then scrapes."""

    def __init__(self, settings: NotificationConsumerSettings, metrics: Metrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self.scraped = ""

    def run(self) -> None:
        handler = NotificationBatchHandler(
            FakeStore(), {"email": FakeChannel()}, self._settings.kind_channels, FakeDlq(),
            self._metrics, threading.Event(), SendPolicy(),
        )  # fmt: skip
        expires = datetime.now(UTC) + timedelta(minutes=15)
        created = OrderCreated(
            order_id=uuid.uuid4(), sale_id="s1", user_id="ann", quantity=1, expires_at=expires
        )
        handler([kafka_message(encode(created), 0, topic="events")])
        url = f"http://{self._settings.metrics_host}:{self._settings.metrics_port}/metrics"
        self.scraped = httpx.get(url, timeout=5, trust_env=False).text


def test_main_serves_the_notification_metrics_on_its_own_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = free_port()
    monkeypatch.setenv("FLASHSALE_NOTIFICATION_METRICS_PORT", str(port))
    monkeypatch.setenv("FLASHSALE_NOTIFICATION_METRICS_HOST", "127.0.0.1")
    monkeypatch.setenv("FLASHSALE_INVENTORY_METRICS_PORT", "1")  # the other consumer's
    apps: list[OneBatchApp] = []

    def bootstrap(
        settings: NotificationConsumerSettings, stop: threading.Event, *, metrics: Metrics
    ) -> OneBatchApp:
        apps.append(OneBatchApp(settings, metrics))
        return apps[-1]

    monkeypatch.setattr(entry_point, "bootstrap", bootstrap)
    monkeypatch.setattr(entry_point, "stop_on_signals", threading.Event)  # pytest keeps ^C
    monkeypatch.setattr(entry_point, "configure_logging", lambda _service: None)
    entry_point.main()
    [app] = apps
    sent = 'flashsale_notifications_total{channel="email",outcome="sent"}'
    assert sent in app.scraped
