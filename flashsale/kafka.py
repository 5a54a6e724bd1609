"""Kafka producer and consumer configs with the safe settings, and the topic bootstrap.

Every key that differs from librdkafka's default says why. The factories only build
configs and clients when called: nothing connects at import time.
"""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from flashsale.settings import KafkaSettings
from flashsale.topics import topic_specs

__all__ = [
    "connection_config",
    "consumer_config",
    "ensure_topics",
    "producer_config",
]

# A bootstrap string (the local, PLAINTEXT infra) or the settings, which carry the
# security fields too: pass the settings and SASL_SSL reaches every client.
Brokers = str | KafkaSettings


# librdkafka's own log lines go through Python logging (served by poll), not raw stderr:
# services format them like the rest, and a client outliving its broker stays quiet.
LIBRDKAFKA_LOG = logging.getLogger("flashsale.librdkafka")


def connection_config(brokers: Brokers) -> dict[str, Any]:
    """Where the brokers are and how to authenticate to them: the keys every client
    (producer, consumer, AdminClient) shares."""
    if isinstance(brokers, str):
        return {"bootstrap.servers": brokers}
    config: dict[str, Any] = {
        "bootstrap.servers": brokers.kafka_bootstrap,
        "security.protocol": brokers.kafka_security_protocol,
    }
    if brokers.kafka_security_protocol.startswith("SASL_"):
        password = brokers.kafka_sasl_password
        config["sasl.mechanism"] = brokers.kafka_sasl_mechanism
        config["sasl.username"] = brokers.kafka_sasl_username
        config["sasl.password"] = password.get_secret_value() if password else None
    if brokers.kafka_ssl_ca_location and brokers.kafka_security_protocol.endswith("SSL"):
        config["ssl.ca.location"] = brokers.kafka_ssl_ca_location
    return config


def producer_config(bootstrap: Brokers, client_id: str, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        **connection_config(bootstrap),
        "client.id": client_id,
        "logger": LIBRDKAFKA_LOG,
        # A delivery report means every in-sync replica has the message: the order token
        # a client receives can no longer be lost with one broker.
        "acks": "all",
        # Retries can neither duplicate nor reorder a message within its partition.
        "enable.idempotence": True,
        # A stampede produces thousands of messages a second: wait up to 5 ms to send
        # them in batches, which costs one request far less than a round trip per order.
        "linger.ms": 5,
        "compression.type": "lz4",
        # A client waits for its order token at most this long; past it the produce
        # fails, the service answers 503 and voids the reservation.
        "delivery.timeout.ms": 5000,
        "request.timeout.ms": 2000,
    }
    config.update(overrides)
    return config


def consumer_config(
    bootstrap: Brokers, group_id: str, client_id: str, **overrides: Any
) -> dict[str, Any]:
    config: dict[str, Any] = {
        **connection_config(bootstrap),
        "group.id": group_id,
        "client.id": client_id,
        "logger": LIBRDKAFKA_LOG,
        # Offsets are stored by hand, only after the DB transaction that applied the
        # messages has committed; the background auto-commit then commits just those.
        "enable.auto.offset.store": False,
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 1000,
        # Scaling out moves only the partitions that must move; the others keep flowing.
        "partition.assignment.strategy": "cooperative-sticky",
        # A new group starts at the beginning: an order placed before the first consumer
        # started must still be written.
        "auto.offset.reset": "earliest",
        # A dead consumer's partitions move within 10 s instead of 45 s.
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 2000,
    }
    config.update(overrides)
    return config


def ensure_topics(settings: KafkaSettings, timeout: float = 30.0) -> list[str]:
    """Create the missing topics; return the names created. Safe to call any number of times."""
    admin = AdminClient(connection_config(settings))
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted = [
        NewTopic(
            spec.name,
            num_partitions=spec.partitions,
            replication_factor=spec.replication_factor or -1,
            config=spec.config,
        )
        for spec in topic_specs(settings)
        if spec.name not in existing
    ]
    created: list[str] = []
    for name, future in (
        admin.create_topics(wanted, operation_timeout=timeout).items() if wanted else []
    ):
        try:
            future.result(timeout=timeout)
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return created
