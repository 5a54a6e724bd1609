"""Wires the notification consumer: the one place adapters are chosen. Tests pass fakes."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass

from confluent_kafka import Consumer

from flashsale.consumer_loop import BatchLoop
from flashsale.db import make_engine
from flashsale.dlq import kafka_dead_letter_sink
from flashsale.kafka import consumer_config
from flashsale.metrics import Metrics, NullMetrics
from flashsale.process import client_id as kafka_client_id
from notification_consumer.adapters.smtp import SmtpChannel
from notification_consumer.adapters.sql import SqlNotificationStore
from notification_consumer.adapters.webhook import WebhookChannel
from notification_consumer.handlers import NotificationBatchHandler, SendPolicy
from notification_consumer.ports import Channel, DeadLetterSink, NotificationStore
from notification_consumer.settings import NotificationConsumerSettings

__all__ = ["NotificationConsumer", "bootstrap", "default_channels"]


@dataclass
class NotificationConsumer:
    loop: BatchLoop
    resources: ExitStack  # closed last in, first out: channels, DLQ producer, engine

    def run(self) -> None:
        try:
            self.loop.run()
        finally:
            self.resources.close()


def default_channels(settings: NotificationConsumerSettings) -> dict[str, Channel]:
    channels: dict[str, Channel] = {
        "email": SmtpChannel(
            settings.smtp_host, settings.smtp_port, settings.smtp_sender, settings.smtp_timeout_s
        )
    }
    if settings.webhook_url:
        for name in ("sms", "push"):
            channels[name] = WebhookChannel(settings.webhook_url, name, settings.webhook_timeout_s)
    return channels


def bootstrap(
    settings: NotificationConsumerSettings,
    stop: threading.Event | None = None,
    *,
    metrics: Metrics | None = None,
    store: NotificationStore | None = None,
    channels: Mapping[str, Channel] | None = None,
    dlq: DeadLetterSink | None = None,
) -> NotificationConsumer:
    """The consumer with the adapters given here, and the real ones (from `settings`) for
    every adapter left None."""
    stop = stop or threading.Event()
    client_id = kafka_client_id(settings.service_name)
    resources = ExitStack()
    if store is None:
        engine = make_engine(settings.database_url)
        resources.callback(engine.dispose)
        store = SqlNotificationStore(engine, settings.claim_lease_s)
    dlq = dlq or kafka_dead_letter_sink(
        settings,
        client_id,
        settings.dlq_topic,
        settings.notification_group_id,
        resources,
    )
    channels = channels if channels is not None else default_channels(settings)
    for channel in channels.values():
        resources.callback(channel.close)
    policy = SendPolicy(
        settings.max_attempts, settings.retry_base_s, settings.retry_cap_s, settings.email_domain
    )
    handler = NotificationBatchHandler(
        store, channels, settings.kind_channels, dlq, metrics or NullMetrics(), stop, policy
    )
    return NotificationConsumer(_batch_loop(settings, handler, client_id, stop), resources)


def _batch_loop(
    settings: NotificationConsumerSettings,
    handler: NotificationBatchHandler,
    client_id: str,
    stop: threading.Event,
) -> BatchLoop:
    consumer = Consumer(consumer_config(settings, settings.notification_group_id, client_id))
    batch_max = settings.batch_max_messages
    topics = [settings.order_events_topic]
    return BatchLoop(
        consumer, topics, handler, lambda: batch_max, settings.batch_max_ms / 1000, stop
    )
