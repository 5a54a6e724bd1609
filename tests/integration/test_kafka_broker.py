"""The real broker: what is produced with acks=all comes back from the topic."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient

from flashsale.contracts import OrderPlaced, decode_event, encode
from flashsale.kafka import AsyncProducer, producer_config
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


def test_init_created_the_pipeline_topics(infra: InfraSettings) -> None:
    topics = (
        AdminClient({"bootstrap.servers": infra.kafka_bootstrap}).list_topics(timeout=10).topics
    )
    assert len(topics[infra.orders_topic].partitions) == infra.orders_partitions
    assert infra.order_events_topic in topics
    assert infra.dlq_topic in topics
