"""The two HTTP edges as real processes (`python -m gateway`, `python -m order_service`, as
`make up` runs them), each on a free port with the env a test gives, against the shared
infra; their logs go under the test's tmp dir."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from flashsale.settings import InfraSettings
from tests.e2e.stack import wait_http
from tests.kafka_helpers import create_topic
from tests.net import free_port
from tests.random_refs import random_topic

__all__ = ["Edge", "create_sale_over_http", "running_edge", "running_edges", "service_env"]


@dataclass
class Edge:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def service_env(infra: InfraSettings, **extra: str) -> dict[str, str]:
    """The shared infra's addresses, a topic of the test's own, and the test's extras."""
    topic = random_topic("abuse-orders")
    create_topic(infra.kafka_bootstrap, topic, 3)
    return {
        **os.environ,
        "FLASHSALE_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "FLASHSALE_REDIS_URL": infra.redis_url,
        "FLASHSALE_DATABASE_URL": infra.database_url,
        "FLASHSALE_ORDERS_TOPIC": topic,
        "FLASHSALE_ADMIN_TOKEN": secrets.token_urlsafe(24),
        **extra,
    }


@contextmanager
def running_edge(name: str, env: dict[str, str], log_dir: Path) -> Iterator[Edge]:
    """Start `python -m name` on a free port; stop it (SIGTERM, then SIGKILL) on exit."""
    port = free_port()
    port_var = "FLASHSALE_GATEWAY_PORT" if name == "gateway" else "FLASHSALE_ORDER_SERVICE_PORT"
    log = log_dir / f"{name}-{port}.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", name], env={**env, port_var: str(port)}, stdout=out, stderr=out
        )
    edge = Edge(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_http(f"{edge.url}/healthz", process)
        yield edge
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def running_edges(
    env: dict[str, str], log_dir: Path, **gateway_env: str
) -> Iterator[tuple[Edge, Edge]]:
    """The order service, then a gateway in front of it: (gateway, order service)."""
    with running_edge("order_service", env, log_dir) as orders:
        front = {**env, "FLASHSALE_GATEWAY_ORDER_SERVICE_URL": orders.url, **gateway_env}
        with running_edge("gateway", front, log_dir) as gateway:
            yield gateway, orders


def create_sale_over_http(order_url: str, token: str, sale_id: str, stock: int) -> None:
    body = {
        "sale_id": sale_id,
        "name": sale_id,
        "stock": stock,
        "starts_at": "2020-01-01T00:00:00Z",
        "ends_at": "2099-01-01T00:00:00Z",
    }
    auth = {"Authorization": f"Bearer {token}"}
    answer = httpx.post(f"{order_url}/admin/sales", json=body, headers=auth, timeout=10)
    assert answer.status_code == 201, answer.text
