"""Every Prometheus metric family flashsale exports, declared once: its name, kind, help
and label names. Services register their families at start, so `/metrics` lists them
before the first event and the Grafana dashboard's queries can be checked against this
list. Labels are bounded sets (outcomes, channels, partitions), never ids of users or
orders; `sale_id` only labels the stock of the few sales a process has seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["BUCKETS", "CATALOG", "Family", "families_of"]

Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class Family:
    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    services: tuple[str, ...] = ()  # the processes that export it


GATEWAY, ORDERS = ("gateway",), ("order_service",)
INVENTORY, NOTIFY = ("inventory_consumer",), ("notification_consumer",)
CONSUMERS = INVENTORY + NOTIFY
POOL = ("pool",)  # the autoscaling supervisor of a consumer's workers

CATALOG: tuple[Family, ...] = (
    # layer 1
    Family("flashsale_gateway_requests_total", "counter",
           "Gateway /api/ requests by outcome: forwarded, rate_limited, sold_out,"
           " too_large, upstream_error, no_proof.", ("outcome",), GATEWAY),
    Family("flashsale_gateway_bucket_tokens", "gauge",
           "Tokens left in the gateway's global bucket.", (), GATEWAY),
    Family("flashsale_gateway_global_rate", "gauge",
           "The global bucket's refill rate now, requests/s (lowered under backpressure).",
           (), GATEWAY),
    Family("flashsale_gateway_backpressure", "gauge",
           "1 while the consumers' lag holds the global rate down, else 0.", (), GATEWAY),
    # layer 2
    Family("flashsale_admission_total", "counter",
           "Purchase attempts answered by the order service, by outcome.", ("outcome",),
           ORDERS),
    Family("flashsale_orders_produced_total", "counter",
           "Messages the order service produced to Kafka, by result (acked, failed).",
           ("result",), ORDERS),
    Family("flashsale_produce_seconds", "histogram",
           "From produce to the broker's acknowledgement (acks=all).", (), ORDERS),
    Family("flashsale_stock_remaining", "gauge",
           "Units left in Redis, as last seen by this process, per sale.", ("sale_id",),
           ORDERS),
    # layer 4
    Family("flashsale_consumed_messages_total", "counter",
           "Kafka messages a consumer handled (applied, skipped or dead-lettered).",
           ("consumer",), CONSUMERS),
    Family("flashsale_batch_size", "histogram",
           "Messages per batch handed to a consumer's handler.", ("consumer",), CONSUMERS),
    Family("flashsale_db_transaction_seconds", "histogram",
           "Duration of one batch's PostgreSQL transaction.", ("consumer",), INVENTORY),
    Family("flashsale_inventory_batch_seconds", "histogram",
           "Duration of one inventory batch, throttle wait included.", (), INVENTORY),
    Family("flashsale_orders_written_total", "counter",
           "Order rows the inventory consumer inserted (CREATED or FAILED).", ("status",),
           INVENTORY),
    Family("flashsale_inventory_drift_total", "counter",
           "Orders PostgreSQL refused for lack of stock that Redis had admitted.", (),
           INVENTORY),
    Family("flashsale_dlq_messages_total", "counter",
           "Messages a consumer dead-lettered.", ("consumer",), CONSUMERS),
    Family("flashsale_notifications_total", "counter",
           "Notifications by channel and outcome (sent, failed, skipped).",
           ("channel", "outcome"), NOTIFY),
    # scaling
    Family("flashsale_consumer_lag", "gauge",
           "Messages on the topic not yet committed by the consumer group.", ("group",),
           POOL),
    Family("flashsale_consumer_lag_partition", "gauge",
           "The same, per partition.", ("group", "partition"), POOL),
    Family("flashsale_pool_workers", "gauge",
           "Worker processes the autoscaler runs now.", ("group",), POOL),
    Family("flashsale_pool_scale_events_total", "counter",
           "Autoscaler decisions, by direction (up, down).", ("group", "direction"), POOL),
)  # fmt: skip


def families_of(service: str) -> tuple[Family, ...]:
    return tuple(f for f in CATALOG if service in f.services)


# Histogram buckets where Prometheus's defaults (5 ms .. 10 s) do not fit what is measured.
BUCKETS: dict[str, tuple[float, ...]] = {
    "flashsale_batch_size": (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000),
    "flashsale_produce_seconds": (
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120,
    ),
    "flashsale_db_transaction_seconds": (
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ),
}  # fmt: skip
