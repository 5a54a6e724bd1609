"""The admission half of `make bench`: HTTP paths side by side, one run, one machine.

wrk runs on CPU 0, every server on CPU 1 (taskset), each served as the services are
(loadtests/serve.py: flashsale.process.serve_asgi, one worker). Rows, each a ratio to the
bare ASGI hello of the same round: the FastAPI hello, the gateway's 429 path, the
sold-out path (order service, the gateway's edge cache, and forwarded through the
gateway with that cache off: its ratio to the order service's row is what forwarding
costs), then the admission path itself (a fresh user per request, real Redis + real
Kafka, acks=all) at 50 and 200 connections, and with 2 workers on both cores (shared
with wrk: on this 2-core machine a second worker has no core of its own).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta

from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from redis.asyncio import Redis

from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys, load_sale
from loadtests.wrk import Case, Row, interleaved_rounds, server, table, unique_users, wrk

__all__ = ["ADMISSION", "Row", "bench_topic", "cleanup", "order_env", "run", "table"]

# The gateway with its limits out of the way: what is measured is the rest of its path.
NO_LIMITS = {
    "FLASHSALE_GATEWAY_CLIENT_RATE": "1e9",
    "FLASHSALE_GATEWAY_CLIENT_BURST": "1000000",
    "FLASHSALE_GATEWAY_GLOBAL_RATE": "1e9",
    "FLASHSALE_GATEWAY_GLOBAL_BURST": "1000000",
}
ADMISSION = "admission (Redis+Kafka ack)"
ADMISSION_200 = "admission, 200 connections"
ADMISSION_2W = "admission, 2 workers (2 cores)"
BOTH_CPUS = "0,1"
GATEWAYS = {
    # One token per client and a slow refill: every request but the first is a 429.
    "limiting": {"FLASHSALE_GATEWAY_CLIENT_RATE": "1", "FLASHSALE_GATEWAY_CLIENT_BURST": "1"},
    "edge": NO_LIMITS,
    # The proof of work on: a purchase without a proof is a precomputed 403, before any bucket.
    "proof": {
        **NO_LIMITS,
        "FLASHSALE_GATEWAY_POW_ENABLED": "true",
        "FLASHSALE_GATEWAY_POW_SECRET": secrets.token_hex(32),
    },
    # Flags expire at once: every sold-out POST is forwarded.
    "forwarding": {**NO_LIMITS, "FLASHSALE_GATEWAY_SOLD_OUT_TTL_S": "0.000001"},
}


def run(infra: InfraSettings | None = None) -> list[Row]:
    infra = infra or InfraSettings()
    sold_out, plenty = asyncio.run(_sales(infra))
    try:
        with bench_topic(infra) as topic, ExitStack() as servers:
            urls = _start_servers(servers, order_env(infra, topic))
            return _measure(urls, f"/api/sales/{sold_out}/orders", f"/api/sales/{plenty}/orders")
    finally:
        asyncio.run(cleanup(infra, sold_out, plenty))


def _start_servers(stack: ExitStack, order_settings: dict[str, str]) -> dict[str, str]:
    urls = {
        "hello": stack.enter_context(server("loadtests.hello_asgi:create_app", {})),
        "fastapi": stack.enter_context(server("loadtests.fastapi_hello:create_app", {})),
        "order": stack.enter_context(server("order_service.app:create_app", order_settings)),
        # Both cores, shared with wrk: what a second worker buys on this 2-core machine.
        "order_2w": stack.enter_context(
            server("order_service.app:create_app", order_settings, workers=2, cpus=BOTH_CPUS)
        ),
    }
    for name, env in GATEWAYS.items():
        env = {"FLASHSALE_GATEWAY_ORDER_SERVICE_URL": urls["order"], **env}
        urls[name] = stack.enter_context(server("gateway.app:create_app", env))
    return urls


def _measure(urls: dict[str, str], sold_path: str, admit_path: str) -> list[Row]:
    # Warm up (Kafka connection, producer id, script load) with users of its own.
    for url in (urls["order"], urls["order_2w"]):
        wrk(url + admit_path, unique_users("warm"), seconds=1)
    # Admission is measured in the rounds too: its ratio is to the hello of its own round.
    return interleaved_rounds(
        [
            Case("bare ASGI hello", urls["hello"] + sold_path, 200),
            Case("FastAPI hello", urls["fastapi"] + sold_path, 200),
            # A sale the edge knows nothing about: sold-out answers come before the
            # buckets, so a sold-out path would never reach them.
            Case("gateway 429 path", urls["limiting"] + "/api/sales/bench-unknown/orders", 429),
            Case("gateway 403, no proof of work", urls["proof"] + "/api/sales/x/orders", 403),
            Case("sold out, order service", urls["order"] + sold_path, 409),
            Case("sold out, gateway edge", urls["edge"] + sold_path, 409),
            Case("sold out, forwarded by gateway", urls["forwarding"] + sold_path, 409),
            Case(ADMISSION, urls["order"] + admit_path, 202, unique_users("bench")),
            Case(ADMISSION_200, urls["order"] + admit_path, 202, unique_users("b200"), 200),
            Case(ADMISSION_2W, urls["order_2w"] + admit_path, 202, unique_users("b2w")),
        ]
    )


def order_env(infra: InfraSettings, topic: str) -> dict[str, str]:
    return {
        "FLASHSALE_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "FLASHSALE_REDIS_URL": infra.redis_url,
        "FLASHSALE_DATABASE_URL": infra.database_url,
        "FLASHSALE_ORDERS_TOPIC": topic,
        "FLASHSALE_DEV_MODE": "true",
        "FLASHSALE_ORDER_POINTER_TTL_S": "120",
        "FLASHSALE_MAX_IN_FLIGHT": "4096",
    }


@contextmanager
def bench_topic(infra: InfraSettings) -> Iterator[str]:
    """A topic of its own, so the bench's orders never reach the real consumers."""
    topic = f"bench.orders.{os.getpid()}.{int(time.time())}"
    admin = AdminClient({"bootstrap.servers": infra.kafka_bootstrap})
    created = admin.create_topics([NewTopic(topic, num_partitions=12, replication_factor=-1)])
    created[topic].result(30)
    try:
        yield topic
    finally:
        admin.delete_topics([topic])


async def _sales(infra: InfraSettings) -> tuple[str, str]:
    redis = Redis.from_url(infra.redis_url)
    now, stamp = datetime.now(UTC), f"{os.getpid()}-{int(time.time())}"
    sold_out, plenty = f"bench-soldout-{stamp}", f"bench-admit-{stamp}"
    window = (now - timedelta(minutes=1), now + timedelta(hours=1))
    await load_sale(redis, sold_out, 0, *window, 1)
    await load_sale(redis, plenty, 10_000_000, *window, 1)
    await redis.aclose()
    return sold_out, plenty


async def cleanup(infra: InfraSettings, *sale_ids: str) -> None:
    redis = Redis.from_url(infra.redis_url)
    for sale_id in sale_ids:
        await redis.delete(*SaleKeys(sale_id).all())
        await redis.srem("flashsale:sales", sale_id)
    await redis.aclose()


if __name__ == "__main__":
    print(table(run()))
