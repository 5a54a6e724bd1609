"""A whole flashsale system of a test's own: the four services as real processes (the same
`python -m <service>` as `make up`), on free ports, with random topics and groups, against
the shared Kafka, Redis and PostgreSQL, and a local SMTP server the test reads back."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from flashsale.kafka import ensure_topics
from flashsale.settings import InfraSettings
from tests.fulfilment_helpers import SmtpSink
from tests.net import free_port
from tests.polling import eventually
from tests.random_refs import random_group, random_topic


@dataclass
class Stack:
    env: dict[str, str]
    gateway_url: str
    order_url: str
    admin_token: str
    inbox: SmtpSink
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, port: int | None = None) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (the process owns it)
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", name], env=self.env, stdout=log, stderr=log
        )
        if port is not None:
            wait_http(f"http://127.0.0.1:{port}/healthz", self.processes[name])

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    eventually(answers, timeout, f"{url} to answer", every_s=0.2)


@contextmanager
def running_stack(infra: InfraSettings, log_dir: Path, order_ttl_s: float = 900) -> Iterator[Stack]:
    topics = {
        "FLASHSALE_ORDERS_TOPIC": random_topic("e2e.orders"),
        "FLASHSALE_ORDER_EVENTS_TOPIC": random_topic("e2e.events"),
        "FLASHSALE_DLQ_TOPIC": random_topic("e2e.dlq"),
    }
    ensure_topics(
        infra.model_copy(
            update={
                "orders_topic": topics["FLASHSALE_ORDERS_TOPIC"],
                "order_events_topic": topics["FLASHSALE_ORDER_EVENTS_TOPIC"],
                "dlq_topic": topics["FLASHSALE_DLQ_TOPIC"],
                "orders_partitions": 4,
                "order_events_partitions": 4,
                "dlq_partitions": 1,
            }
        )
    )
    with SmtpSink() as inbox:
        gateway_port, order_port, token = free_port(), free_port(), secrets.token_urlsafe(16)
        env = {
            **os.environ,
            **topics,
            "FLASHSALE_ADMIN_TOKEN": token,
            "FLASHSALE_ORDER_SERVICE_PORT": str(order_port),
            "FLASHSALE_GATEWAY_PORT": str(gateway_port),
            "FLASHSALE_GATEWAY_ORDER_SERVICE_URL": f"http://127.0.0.1:{order_port}",
            # The test is the trusted proxy in front of the gateway: it names each buyer.
            "FLASHSALE_GATEWAY_TRUSTED_PROXIES": '["127.0.0.1"]',
            "FLASHSALE_INVENTORY_GROUP_ID": random_group("inventory"),
            "FLASHSALE_NOTIFICATION_GROUP_ID": random_group("notify"),
            "FLASHSALE_ORDER_TTL_S": str(order_ttl_s),
            "FLASHSALE_SMTP_HOST": "127.0.0.1",
            "FLASHSALE_SMTP_PORT": str(inbox.port),
        }
        stack = Stack(
            env,
            f"http://127.0.0.1:{gateway_port}",
            f"http://127.0.0.1:{order_port}",
            token,
            inbox,
            log_dir,
        )
        try:
            stack.start("order_service", order_port)
            stack.start("gateway", gateway_port)
            stack.start("inventory_consumer")
            stack.start("notification_consumer")
            yield stack
        finally:
            stack.stop()
