"""Wires the notification consumer: the one place adapters are chosen. Tests pass fakes."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from confluent_kafka import Consumer, Producer
from sqlalchemy import Engine

from flashsale.consumer_loop import BatchLoop
from flashsale.db import make_engine
from flashsale.dlq import DeadLetterSink, KafkaDeadLetterSink
from flashsale.kafka import consumer_config, producer_config
from flashsale.metrics import Metrics, NullMetrics
from notification_consumer.channels import Channel
from notification_consumer.channels.smtp import SmtpChannel
from notification_consumer.channels.webhook import WebhookChannel
from notification_consumer.handler import NotificationBatchHandler, SendPolicy
from notification_consumer.settings import NotificationConsumerSettings
from notification_consumer.store import SqlNotificationStore

__all__ = ["NotificationConsumer", "bootstrap", "default_channels"]


@dataclass
class NotificationConsumer:
    loop: BatchLoop
    channels: Mapping[str, Channel]
    engine: Engine
    dlq_producer: Producer

    def run(self) -> None:
        try:
            self.loop.run()
        finally:
            for channel in self.channels.values():
                channel.close()
            self.dlq_producer.flush(5)
            self.engine.dispose()


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
    channels: Mapping[str, Channel] | None = None,
    metrics: Metrics | None = None,
    dlq: DeadLetterSink | None = None,
) -> NotificationConsumer:
    stop = stop or threading.Event()
    client_id = f"{settings.service_name}-{socket.gethostname()}-{os.getpid()}"
    engine = make_engine(settings.database_url)
    channels = channels if channels is not None else default_channels(settings)
    dlq_producer = Producer(producer_config(settings.kafka_bootstrap, f"{client_id}-dlq"))
    handler = NotificationBatchHandler(
        store=SqlNotificationStore(engine, settings.claim_lease_s),
        channels=channels,
        kind_channels=settings.kind_channels,
        dlq=dlq
        or KafkaDeadLetterSink(dlq_producer, settings.dlq_topic, settings.notification_group_id),
        metrics=metrics or NullMetrics(),
        stop=stop,
        policy=SendPolicy(
            settings.max_attempts,
            settings.retry_base_s,
            settings.retry_cap_s,
            settings.email_domain,
        ),
    )
    consumer = Consumer(
        consumer_config(settings.kafka_bootstrap, settings.notification_group_id, client_id)
    )
    batch_max = settings.batch_max_messages
    loop = BatchLoop(
        consumer,
        [settings.order_events_topic],
        handler,
        lambda: batch_max,
        settings.batch_max_ms / 1000,
        stop,
    )
    return NotificationConsumer(loop, channels, engine, dlq_producer)
