"""The real broker: what is produced with acks=all comes back from the topic."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient
from typer.testing import CliRunner

from flashsale.async_producer import AsyncProducer
from flashsale.cli import app
from flashsale.contracts import OrderPlaced, decode_event, encode
from flashsale.kafka import producer_config
from flashsale.settings import InfraSettings
from tests.kafka_helpers import create_topic, read_topic
from tests.random_refs import random_sale_id, random_topic, random_user_id

pytestmark = pytest.mark.integration


async def test_message_acked_with_acks_all_is_consumed_back(kafka_bootstrap: str) -> None:
    topic = random_topic("roundtrip")
    create_topic(kafka_bootstrap, topic)
    producer = AsyncProducer(producer_config(kafka_bootstrap, "test"))
    import uuid
    from datetime import UTC, datetime

    event = OrderPlaced(
        order_id=uuid.uuid4(),
        sale_id=random_sale_id(),
        user_id=random_user_id(),
        quantity=1,
        placed_at=datetime.now(UTC),
    )
    try:
        delivered = await producer.produce(topic, event.user_id, encode(event))
    finally:
        assert producer.close() == 0
    assert delivered.error() is None and delivered.offset() >= 0

    messages = read_topic(kafka_bootstrap, topic, expected=1)
    assert [decode_event(m.value()) for m in messages] == [event]
    assert messages[0].key() == event.user_id.encode()


def test_flashsale_init_creates_the_topics_and_is_idempotent(infra: InfraSettings) -> None:
    names = {key: random_topic(key.lower()) for key in ("ORDERS", "ORDER_EVENTS", "DLQ")}
    env = {f"FLASHSALE_{key}_TOPIC": name for key, name in names.items()}
    first = CliRunner().invoke(app, ["init"], env=env)
    assert first.exit_code == 0, first.output
    assert "schema at head" in first.output and names["ORDERS"] in first.output
    again = CliRunner().invoke(app, ["init"], env=env)
    assert again.exit_code == 0 and "none (all existed)" in again.output

    topics = (
        AdminClient({"bootstrap.servers": infra.kafka_bootstrap}).list_topics(timeout=10).topics
    )
    assert len(topics[names["ORDERS"]].partitions) == 12
    assert len(topics[names["ORDER_EVENTS"]].partitions) == 12
    assert len(topics[names["DLQ"]].partitions) == 3
