"""The test run's Kafka cleanup (tests/cleanup.py) on the real broker: it deletes the
topics and the consumer groups under the run's prefixes, and nothing else."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from flashsale.kafka import producer_config
from flashsale.settings import InfraSettings
from tests.cleanup import forget_kafka
from tests.kafka_helpers import create_topic
from tests.polling import eventually
from tests.random_refs import RUN_GROUP_PREFIX, RUN_TOPIC_PREFIX, suffix

pytestmark = pytest.mark.integration


def _commit_an_offset(bootstrap: str, topic: str, group: str) -> None:
    """A group Kafka keeps: it has a committed offset, and no member left."""
    producer = Producer(producer_config(bootstrap, "test-cleanup"))
    producer.produce(topic, b"x")
    producer.flush(30)
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    try:
        eventually(lambda: bool(consumer.consume(1, 0.5)), 30, "the message to be read")
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()


def _names(admin: AdminClient) -> tuple[set[str], set[str]]:
    topics = set(admin.list_topics(timeout=30).topics)
    groups = {g.group_id for g in admin.list_consumer_groups().result(30).valid}
    return topics, groups


def test_the_runs_topics_and_groups_go_and_the_others_stay(infra: InfraSettings) -> None:
    """Two "runs" nested under this run's own prefixes: whatever becomes of this test, the
    session's cleanup still removes both."""
    bootstrap, run, other = infra.kafka_bootstrap, suffix(), suffix()
    mine, theirs = (f"{RUN_TOPIC_PREFIX}cleanup.{r}.topic" for r in (run, other))
    my_group, their_group = (f"{RUN_GROUP_PREFIX}cleanup-{r}-g" for r in (run, other))
    for topic, group in ((mine, my_group), (theirs, their_group)):
        create_topic(bootstrap, topic, partitions=1)
        _commit_an_offset(bootstrap, topic, group)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics, groups = _names(admin)
    assert {mine, theirs} <= topics and {my_group, their_group} <= groups

    def gone() -> bool:
        # Again at each look: a member that only just left can keep its group a moment.
        forget_kafka(
            bootstrap, f"{RUN_TOPIC_PREFIX}cleanup.{run}.", f"{RUN_GROUP_PREFIX}cleanup-{run}-"
        )
        topics, groups = _names(admin)
        return mine not in topics and my_group not in groups

    eventually(gone, 30, "the run's topic and group to be deleted", every_s=1.0)
    topics, groups = _names(admin)
    assert theirs in topics and their_group in groups
