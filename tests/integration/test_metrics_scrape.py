"""Issue 9, "scrapes work": the order service's /metrics and both consumers' listeners
parse with Prometheus's own text parser, list every catalog family of their service from
the start, and count a few real orders: HTTP -> Redis -> Kafka -> the inventory consumer
(PostgreSQL) -> the outbox relay -> the notification consumer (SMTP).

The order service runs in-process with its real adapters (as create_app builds it), the
inventory consumer in a thread with the listener its main() starts, and the notification
consumer as the real `python -m notification_consumer` process. (The gateway's /metrics
is tested with the gateway.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy import Engine

from flashsale.metric_catalog import families_of
from flashsale.metrics import PrometheusMetrics
from flashsale.process import expose_metrics
from flashsale.settings import InfraSettings
from notification_consumer.settings import NotificationConsumerSettings
from order_service.app import create_app
from tests.asgi_server import serve
from tests.fulfilment_helpers import (
    SmtpSink,
    create_sale,
    inventory_settings,
    notification_settings,
    running_inventory,
)
from tests.integration.order_helpers import order_settings
from tests.net import free_port
from tests.polling import eventually, eventually_async
from tests.random_refs import random_user_id

pytestmark = pytest.mark.integration

ORDERS = 3
Scrape = dict[str, list[Sample]]


def scrape(url: str) -> Scrape:
    return parse(httpx.get(f"{url}/metrics", timeout=5, trust_env=False).text)


def parse(text: str) -> Scrape:
    """Every family of a /metrics page, named as the catalog names it (counters end in
    _total there; the parser drops the suffix from the family's name)."""
    return {
        f.name + ("_total" if f.type == "counter" else ""): f.samples
        for f in text_string_to_metric_families(text)
    }


def value(families: Scrape, sample: str, **labels: str) -> float:
    """The sum of the samples named `sample` whose labels include `labels`."""
    return sum(
        s.value
        for samples in families.values()
        for s in samples
        if s.name == sample and labels.items() <= s.labels.items()
    )


def missing_families(families: Scrape, service: str) -> set[str]:
    return {f.name for f in families_of(service)} - families.keys()


@contextmanager
def notification_process(settings: NotificationConsumerSettings, port: int) -> Iterator[str]:
    """`python -m notification_consumer`, configured the way an operator does: by env."""
    fields = ("kafka_bootstrap", "redis_url", "database_url", "order_events_topic")
    fields += ("dlq_topic", "notification_group_id", "smtp_port", "email_domain", "retry_base_s")
    env = {**os.environ, **{f"FLASHSALE_{f.upper()}": str(getattr(settings, f)) for f in fields}}
    env |= {"FLASHSALE_NOTIFICATION_METRICS_PORT": str(port), "FLASHSALE_SMTP_HOST": "127.0.0.1"}
    process = subprocess.Popen([sys.executable, "-m", "notification_consumer"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        eventually(lambda: _answers(url, process), 30, "the notification consumer's /metrics")
        yield url
    finally:
        process.terminate()
        assert process.wait(30) == 0, "SIGTERM: the consumer finishes its batch and exits 0"


def _answers(url: str, process: subprocess.Popen[bytes]) -> bool:
    assert process.poll() is None, "python -m notification_consumer exited"
    try:
        return httpx.get(f"{url}/metrics", timeout=1, trust_env=False).status_code == 200
    except httpx.TransportError:
        return False


async def test_every_service_lists_its_families_and_counts_real_orders(
    infra: InfraSettings, engine: Engine
) -> None:
    inventory = inventory_settings(infra)
    sale_id = create_sale(engine, infra, stock=ORDERS + 2, name="scrape")
    inventory_url = f"http://127.0.0.1:{(inventory_port := free_port())}"
    # What inventory_consumer's main() does for a worker: the families first, then the
    # listener (this one stays up until the test process ends: it cannot be stopped).
    metrics = PrometheusMetrics(service="inventory_consumer")
    expose_metrics(inventory_port, "127.0.0.1")
    with (
        SmtpSink() as smtp,
        notification_process(
            notification_settings(infra, inventory, smtp.port), free_port()
        ) as notify_url,
        running_inventory(inventory, metrics=metrics),
    ):
        before = {"inventory": scrape(inventory_url), "notify": scrape(notify_url)}
        assert missing_families(before["inventory"], "inventory_consumer") == set()
        assert missing_families(before["notify"], "notification_consumer") == set()
        assert missing_families(before["notify"], "order_service") == {
            f.name for f in families_of("order_service")
        }  # a process lists its own service's families, not every one
        await _order_service_counts_its_orders(infra, inventory.orders_topic, sale_id)
        await eventually_async(
            lambda: value(scrape(notify_url), "flashsale_notifications_total") >= ORDERS,
            60,
            "the notification consumer to count its emails",
        )
        _assert_consumers_counted(before, scrape(inventory_url), scrape(notify_url))
        assert len([m for m in smtp.received() if sale_id in str(m)]) == ORDERS


async def _order_service_counts_its_orders(
    infra: InfraSettings, orders_topic: str, sale_id: str
) -> None:
    app = create_app(order_settings(infra, orders_topic))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        # Through the app's own event loop: a blocking GET here would wait on itself.
        before = parse((await client.get("/metrics")).text)
        assert missing_families(before, "order_service") == set()
        for _ in range(ORDERS):
            body = {"user_id": random_user_id()}
            answer = await client.post(f"/api/sales/{sale_id}/orders", json=body)
            assert answer.status_code == 202
        after = parse((await client.get("/metrics")).text)

    def grew(sample: str, **labels: str) -> float:
        return value(after, sample, **labels) - value(before, sample, **labels)

    assert grew("flashsale_admission_total", outcome="reserved") == ORDERS
    assert grew("flashsale_orders_produced_total", result="acked") == ORDERS
    assert grew("flashsale_produce_seconds_count") == ORDERS
    assert value(after, "flashsale_stock_remaining", sale_id=sale_id) == 2


def _assert_consumers_counted(before: dict[str, Scrape], inventory: Scrape, notify: Scrape) -> None:
    def grew(after: Scrape, was: Scrape, sample: str, **labels: str) -> float:
        return value(after, sample, **labels) - value(was, sample, **labels)

    def inventory_grew(sample: str, **labels: str) -> float:
        return grew(inventory, before["inventory"], sample, **labels)

    assert inventory_grew("flashsale_consumed_messages_total", consumer="inventory") == ORDERS
    assert inventory_grew("flashsale_orders_written_total", status="CREATED") == ORDERS
    assert inventory_grew("flashsale_batch_size_sum", consumer="inventory") == ORDERS
    assert inventory_grew("flashsale_db_transaction_seconds_count", consumer="inventory") >= 1
    assert inventory_grew("flashsale_inventory_batch_seconds_count") >= 1
    sent = value(notify, "flashsale_notifications_total", channel="email", outcome="sent")
    assert sent == ORDERS
    consumed = value(notify, "flashsale_consumed_messages_total", consumer="notifications")
    assert consumed == ORDERS  # one OrderCreated per order, from the relay
    assert value(notify, "flashsale_batch_size_count", consumer="notifications") >= 1
