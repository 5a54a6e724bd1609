"""Both edges with FLASHSALE_*WORKERS=2, as real processes: the stock and the buckets hold
across workers, /metrics sums them, and SIGTERM stops every process.

- order service: 60 buyers for 20 units get exactly 20 tokens and 40 sold-outs, every
  token is on the topic, and any scrape of /metrics counts all 20 reservations (the
  workers' figures summed, whichever worker answers);
- gateway: one client with a burst of 4 split over 2 workers is admitted at most 4 times
  out of 30 requests at once.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from flashsale.settings import InfraSettings
from tests.e2e.stack import wait_http
from tests.integration.order_helpers import drop_sale, events_of, new_sale, new_topic
from tests.net import free_port

pytestmark = pytest.mark.integration

PY_SPY = str(Path(sys.executable).parent / "py-spy")
RESERVED = re.compile(r'^flashsale_admission_total\{outcome="reserved"\} (\S+)$', re.M)


@contextmanager
def two_workers(module: str, env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module], env={**os.environ, **env}, stdout=out, stderr=out
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(60)
        except subprocess.TimeoutExpired:
            stacks = _stacks(process.pid)
            process.kill()
            raise AssertionError(f"{module} did not stop in 60 s; its stacks:\n{stacks}") from None
        assert code == 0, f"{module} did not stop cleanly: see {log}"
    assert not _children_of(process.pid), "a worker outlived its supervisor"


def _stacks(pid: int) -> str:
    """What the supervisor and its workers are doing (py-spy dump), for a hang's report."""
    pids = [str(pid), *_children_of(pid)]
    dumps = [
        subprocess.run([PY_SPY, "dump", "--pid", p], capture_output=True, text=True) for p in pids
    ]
    return "\n".join(d.stdout + d.stderr for d in dumps)


def _children_of(pid: int) -> list[str]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return found.stdout.split()


async def buy_all(url: str, sale_id: str, users: list[str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        return await asyncio.gather(
            *(client.post(f"/api/sales/{sale_id}/orders", json={"user_id": u}) for u in users)
        )


async def test_two_order_service_workers_sell_the_stock_once(
    infra: InfraSettings, tmp_path: Path
) -> None:
    topic = new_topic(infra.kafka_bootstrap, "workers")
    redis = Redis.from_url(infra.redis_url)
    sale_id = await new_sale(redis, stock=20)
    port = free_port()
    env = {
        "FLASHSALE_ORDERS_TOPIC": topic,
        "FLASHSALE_ORDER_SERVICE_PORT": str(port),
        "FLASHSALE_WORKERS": "2",
        "FLASHSALE_ADMIN_TOKEN": "test-admin-token",
    }
    try:
        with two_workers("order_service", env, port, tmp_path / "order.log") as url:
            answers = await buy_all(url, sale_id, [f"{sale_id}-u{i}" for i in range(60)])
            statuses = sorted(r.status_code for r in answers)
            assert statuses == [202] * 20 + [409] * 40
            assert {r.json()["error"] for r in answers if r.status_code == 409} == {"sold_out"}
            tokens = {r.json()["order_id"] for r in answers if r.status_code == 202}
            placed = events_of(infra.kafka_bootstrap, topic, 20)
            assert {str(e.order_id) for e in placed} == tokens
            async with httpx.AsyncClient(base_url=url) as client:
                for _ in range(6):  # each scrape may land on either worker
                    text = (await client.get("/metrics")).text
                    assert float(RESERVED.search(text).group(1)) == 20  # type: ignore[union-attr]
    finally:
        await drop_sale(redis, sale_id)
        await redis.aclose()


async def test_two_gateway_workers_share_one_clients_burst(tmp_path: Path) -> None:
    upstream_port, port = free_port(), free_port()
    env = {
        "FLASHSALE_GATEWAY_PORT": str(port),
        # Nothing listens there: an admitted request is a 503, a refused one a 429.
        "FLASHSALE_GATEWAY_ORDER_SERVICE_URL": f"http://127.0.0.1:{upstream_port}",
        "FLASHSALE_GATEWAY_WORKERS": "2",
        "FLASHSALE_GATEWAY_CLIENT_RATE": "0.01",
        "FLASHSALE_GATEWAY_CLIENT_BURST": "4",
    }
    with two_workers("gateway", env, port, tmp_path / "gateway.log") as url:
        # 30 connections at once: the kernel spreads them over both workers.
        limits = httpx.Limits(max_connections=30, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            answers = await asyncio.gather(
                *(client.post("/api/sales/s1/orders", json={"user_id": "u"}) for _ in range(30))
            )
    refused = sum(r.status_code == 429 for r in answers)
    assert 30 - refused <= 4  # each worker holds half the burst: 2 + 2
    assert refused >= 26
