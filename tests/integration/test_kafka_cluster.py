"""`KAFKA_BROKERS=3 make infra-up`: a 3-broker KRaft cluster whose topics default to
replication factor 3 and min.insync.replicas=2, so an acked message survives a broker."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from flashsale.async_producer import AsyncProducer, DeliveryFailed
from flashsale.kafka import producer_config
from tests.dedicated_kafka import dedicated_kafka
from tests.kafka_helpers import create_topic, read_topic
from tests.random_refs import random_topic

pytestmark = pytest.mark.integration


async def test_three_broker_cluster_replicates_and_enforces_min_insync() -> None:
    with dedicated_kafka(port=29192, brokers=3) as cluster:
        topic = random_topic("replicated")
        create_topic(cluster.bootstrap, topic, partitions=3)
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
        assert all(len(p.replicas) == 3 for p in partitions.values())
        resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
        config = admin.describe_configs([resource])[resource].result(10)
        assert config["min.insync.replicas"].value == "2"

        producer = AsyncProducer(
            producer_config(cluster.bootstrap, "test", **{"delivery.timeout.ms": 15000})
        )
        try:
            await producer.produce(topic, "k", b"before")
            cluster.kill_broker(3)
            # One broker down: two in-sync replicas remain, acks=all still succeeds.
            await producer.produce(topic, "k", b"one-down")
            cluster.kill_broker(2)
            # Two down: fewer than min.insync.replicas, so the broker refuses to ack.
            impatient = AsyncProducer(
                producer_config(cluster.bootstrap, "test", **{"delivery.timeout.ms": 4000})
            )
            with pytest.raises(DeliveryFailed):
                await impatient.produce(topic, "k", uuid.uuid4().bytes)
            impatient.close(timeout=1)
        finally:
            producer.close(timeout=1)
        # The killed brokers come back (the same `up`), and nothing acked was lost.
        cluster.script("up")
        values = {m.value() for m in read_topic(cluster.bootstrap, topic, expected=2, timeout=20)}
        assert {b"before", b"one-down"} <= values
