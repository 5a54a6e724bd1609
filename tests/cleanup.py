"""Forget every sale this test run made, in PostgreSQL and Redis, and its Kafka topics and
consumer groups, when the run ends.

Test sales, topics and groups carry the run's prefix (tests/random_refs.py), so the
cleanup finds them whether their test passed, failed or was interrupted: the shared dev
database stays one that `flashsale check` passes on, and the dev broker does not gather
hundreds of partitions a run (it slows down with every thousand). `pytest
--keep-test-data` keeps them to look at.
"""

from __future__ import annotations

import logging

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]
from redis import Redis
from sqlalchemy import Engine, text

from flashsale.stock import SALES_SET

__all__ = ["forget_kafka", "forget_sales"]

log = logging.getLogger(__name__)

# Children first: notifications and outbox rows point at orders, orders at sales.
DELETES = (
    "DELETE FROM notifications WHERE order_id IN"
    " (SELECT order_id FROM orders WHERE sale_id LIKE :pattern)",
    "DELETE FROM outbox WHERE payload->>'sale_id' LIKE :pattern",
    "DELETE FROM orders WHERE sale_id LIKE :pattern",
    "DELETE FROM sales WHERE sale_id LIKE :pattern",
)


def forget_sales(engine: Engine, redis_url: str, prefix: str) -> None:
    pattern = prefix.replace("_", r"\_") + "%"
    with engine.begin() as conn:
        for statement in DELETES:
            conn.execute(text(statement), {"pattern": pattern})
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        # Every key of a sale sits under its hash tag: sale:{<sale id>}:...
        keys = list(redis.scan_iter(match=f"sale:{{{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            redis.delete(*keys[start : start + 500])
        sales = [s for s in redis.smembers(SALES_SET) if s.startswith(prefix)]
        if sales:
            redis.srem(SALES_SET, *sales)
    finally:
        redis.close()


def forget_kafka(bootstrap: str, topic_prefix: str, group_prefix: str) -> None:
    """Delete the run's topics and consumer groups. Best effort, never failing the run: a
    group a straggling consumer still holds stays (Kafka refuses to delete a group with
    members), and an unreachable broker leaves everything for the next clean stack."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        topics = [t for t in admin.list_topics(timeout=30).topics if t.startswith(topic_prefix)]
        listed = admin.list_consumer_groups().result(30).valid
    except (KafkaException, TimeoutError) as exc:
        log.warning("test cleanup could not list Kafka's topics and groups: %s", exc)
        return
    groups = [g.group_id for g in listed if g.group_id.startswith(group_prefix)]
    futures = {
        **(admin.delete_topics(topics) if topics else {}),
        **(admin.delete_consumer_groups(groups) if groups else {}),
    }
    for name, future in futures.items():
        try:
            future.result(30)
        except (KafkaException, TimeoutError) as exc:
            log.warning("test cleanup kept %s: %s", name, exc)
