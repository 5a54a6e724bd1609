"""The whole fault stack: a 3-broker KRaft cluster (RF 3, min.insync.replicas=2), Redis
with its AOF, PostgreSQL, `flashsale init`, then every service as a real process; all of
it on free ports under one run dir, started once for every fault test."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.faults.services import Services
from tests.faults.stores import Stores, free_port_block
from tests.random_refs import random_sale_id

ORDERS_TOPIC = "flashsale.orders"
INVENTORY_GROUP = "flashsale.inventory"


@dataclass
class FaultStack:
    run_dir: Path
    stores: Stores
    services: Services
    env: dict[str, str]  # what every service and `flashsale` command of this stack gets
    gateway_url: str
    order_url: str
    admin_token: str

    def create_sale(self, stock: int, name: str = "fault") -> str:
        """A sale open from a second ago for an hour, one unit per buyer, made through the
        order service's admin API like an operator would."""
        sale_id, now = random_sale_id(name), datetime.now(UTC)
        answer = httpx.post(
            f"{self.order_url}/admin/sales",
            headers={"Authorization": f"Bearer {self.admin_token}"},
            json={
                "sale_id": sale_id,
                "name": name,
                "stock": stock,
                "per_user_limit": 1,
                "starts_at": (now - timedelta(seconds=1)).isoformat(),
                "ends_at": (now + timedelta(hours=1)).isoformat(),
            },
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        return sale_id

    def flashsale(self, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
        """`python -m flashsale.cli ARGS` against this stack."""
        return subprocess.run(
            [sys.executable, "-m", "flashsale.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )


def service_env(stores: Stores, ports: dict[str, int], token: str) -> dict[str, str]:
    """The shared infra's FLASHSALE_* variables are dropped: nothing here may reach it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLASHSALE_")}
    return {
        **clean,
        **stores.urls,
        "FLASHSALE_ADMIN_TOKEN": token,
        "FLASHSALE_ORDER_SERVICE_PORT": str(ports["order_service"]),
        "FLASHSALE_GATEWAY_PORT": str(ports["gateway"]),
        "FLASHSALE_GATEWAY_ORDER_SERVICE_URL": f"http://127.0.0.1:{ports['order_service']}",
        # The load client is the trusted auth proxy in front of the gateway: it names
        # each buyer with X-Authenticated-User.
        "FLASHSALE_GATEWAY_TRUSTED_PROXIES": '["127.0.0.1"]',
        "FLASHSALE_SMTP_HOST": "127.0.0.1",
        "FLASHSALE_SMTP_PORT": str(ports["smtp"]),
        # Two order-service replicas behind the gateway, on one port (flashsale/workers.py).
        "FLASHSALE_WORKERS": "2",
        # Nothing expires during a test: every token stays a live order, easy to audit.
        "FLASHSALE_ORDER_TTL_S": "3600",
        # Two workers all along (2 cores): fault 1 kills them, the supervisor restarts.
        "FLASHSALE_POOL_MIN_WORKERS": "2",
        "FLASHSALE_POOL_MAX_WORKERS": "2",
        "FLASHSALE_POOL_STOP_GRACE_S": "10",
        "FLASHSALE_POOL_METRICS_PORT": str(ports["pool_metrics"]),
    }


@contextmanager
def fault_stack(run_dir: Path) -> Iterator[FaultStack]:
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    stores = Stores.allocate(run_dir)
    names = ("order_service", "gateway", "smtp", "pool_metrics")
    ports = {name: free_port_block(1) for name in names}  # kept across restarts
    token = secrets.token_urlsafe(24)
    env = service_env(stores, ports, token)
    services = Services(
        env,
        run_dir / "logs",
        {
            "order_service": f"http://127.0.0.1:{ports['order_service']}/healthz",
            "gateway": f"http://127.0.0.1:{ports['gateway']}/healthz",
        },
        ports["smtp"],
    )
    stack = FaultStack(
        run_dir,
        stores,
        services,
        env,
        f"http://127.0.0.1:{ports['gateway']}",
        f"http://127.0.0.1:{ports['order_service']}",
        token,
    )
    try:
        stores.up()  # inside the try: a half-started stack is stopped too
        init = stack.flashsale("init", timeout_s=120)
        assert init.returncode == 0, init.stdout + init.stderr
        for name in ("mailsink", "order_service", "gateway"):
            services.start(name)
        services.start("inventory_consumer")
        services.start("notification_consumer")
        yield stack
    finally:
        services.stop_all()
        stores.down()
