from flashsale.kafka import consumer_config, producer_config
from flashsale.settings import KafkaSettings
from flashsale.topics import topic_specs


def test_producer_waits_for_every_in_sync_replica_and_never_duplicates() -> None:
    config = producer_config("b:1", "c")
    assert config["acks"] == "all"
    assert config["enable.idempotence"] is True
    assert config["delivery.timeout.ms"] <= 10_000


def test_consumer_stores_offsets_by_hand_and_rebalances_cooperatively() -> None:
    config = consumer_config("b:1", "g", "c")
    assert config["enable.auto.offset.store"] is False
    assert config["partition.assignment.strategy"] == "cooperative-sticky"


def test_topics_default_to_twelve_order_partitions() -> None:
    specs = {s.name: s for s in topic_specs(KafkaSettings())}
    assert specs["flashsale.orders"].partitions == 12
    assert set(specs) == {"flashsale.orders", "flashsale.order-events", "flashsale.dlq"}
