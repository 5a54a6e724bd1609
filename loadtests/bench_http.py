"""The admission half of `make bench`: HTTP paths side by side, one run, one machine.

wrk runs on CPU 0, every server on CPU 1 (taskset), each under the same uvicorn settings
(1 worker, uvloop, httptools, no access log). Rows, each a ratio to the bare ASGI hello:
the FastAPI hello, the gateway's 429 path, the sold-out path (order service, the
gateway's edge cache, and forwarded through the gateway with that cache off: its ratio to
the order service's row is what forwarding costs), then the admission path itself (a
fresh user per request, real Redis + real Kafka, acks=all) with its p50/p99 latency.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from redis.asyncio import Redis

from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys, load_sale

__all__ = ["Row", "run"]

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 5
# The cheap paths are measured in interleaved rounds; a row's ratio is the median of its
# per-round ratios to the hello of the same round: on a shared 2-core box a neighbour's
# burst then skews one round, not one row.
ROUNDS, ROUND_SECONDS = 4, 2
CONNECTIONS = 50
WRK_CPU, SERVER_CPU = "0", "1"
BODY = '{"user_id":"bench-user","quantity":1}'

# Counts every status code wrk saw (a 429 row must be made of 429s, not of errors).
STATUS_LUA = """
wrk.method = "POST"
wrk.body = '__BODY__'
wrk.headers["Content-Type"] = "application/json"
counts = {}  -- global: done() reads it from each thread
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {} end
function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("counts")) do io.write(string.format("STATUS %d %d\\n", status, n)) end
  end
end
""".replace("__BODY__", BODY)
# A fresh user id on every request: every request runs the whole admission path.
UNIQUE_USER_LUA = STATUS_LUA.replace(
    "function response",
    'local n = 0\nlocal prefix = "__PREFIX__" .. tostring(math.random(1, 1e9)) .. "-"\n'
    "function request()\n  n = n + 1\n"
    '  return wrk.format(nil, nil, nil, \'{"user_id":"\' .. prefix .. n .. \'","quantity":1}\')\n'
    "end\nfunction response",
)


@dataclass
class Row:
    name: str
    rps: float
    ratio: float | None
    expected_share: float  # share of answers with the status this row is about
    p50_ms: float
    p99_ms: float


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _server(target: str, env: dict[str, str], factory: bool = False) -> Iterator[str]:
    port = _free_port()
    cmd = ["taskset", "-c", SERVER_CPU, sys.executable, "-m", "uvicorn", target]
    cmd += ["--port", str(port), "--workers", "1", "--loop", "uvloop", "--http", "httptools"]
    cmd += ["--no-access-log", "--log-level", "warning"] + (["--factory"] if factory else [])
    process = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{target} did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(15)


def _wrk(
    url: str, script: str, seconds: int = SECONDS, connections: int = CONNECTIONS
) -> tuple[float, dict[int, int], float, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    cmd = ["taskset", "-c", WRK_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    out = subprocess.run(  # noqa: S603
        [*cmd, "--latency", "-s", file.name, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    os.unlink(file.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    statuses = {int(s): int(n) for s, n in re.findall(r"STATUS (\d+) (\d+)", out)}
    return rps, statuses, _percentile(out, "50"), _percentile(out, "99")


def _percentile(out: str, pct: str) -> float:
    value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _row(name: str, url: str, script: str, expected: int, seconds: int = SECONDS) -> Row:
    rps, statuses, p50, p99 = _wrk(url, script, seconds)
    share = statuses.get(expected, 0) / max(1, sum(statuses.values()))
    return Row(name, rps, None, share, p50, p99)


def _interleaved_rounds(cases: list[tuple[str, str, int]]) -> list[Row]:
    """cases: (name, url, expected status); the first case is the yardstick."""
    rounds: dict[str, list[Row]] = {name: [] for name, _, _ in cases}
    ratios: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for _ in range(ROUNDS):
        for name, url, expected in cases:
            rounds[name].append(_row(name, url, STATUS_LUA, expected, ROUND_SECONDS))
        hello = rounds[cases[0][0]][-1].rps
        for name in rounds:
            ratios[name].append(rounds[name][-1].rps / hello)
    rows = []
    for name, measured in rounds.items():
        middle = sorted(measured, key=lambda r: r.rps)[len(measured) // 2]
        middle.ratio = statistics.median(ratios[name])
        middle.expected_share = min(r.expected_share for r in measured)
        rows.append(middle)
    return rows


async def _sales(redis: Redis) -> tuple[str, str]:
    now = datetime.now(UTC)
    stamp = f"{os.getpid()}-{int(time.time())}"
    sold_out, plenty = f"bench-soldout-{stamp}", f"bench-admit-{stamp}"
    await load_sale(redis, sold_out, 0, now - timedelta(minutes=1), now + timedelta(hours=1), 1)
    await load_sale(
        redis, plenty, 10_000_000, now - timedelta(minutes=1), now + timedelta(hours=1), 1
    )
    return sold_out, plenty


def run(infra: InfraSettings | None = None) -> list[Row]:
    infra = infra or InfraSettings()
    redis = Redis.from_url(infra.redis_url)
    sold_out, plenty = asyncio.run(_sales(redis))
    topic = f"bench.orders.{os.getpid()}.{int(time.time())}"
    admin = AdminClient({"bootstrap.servers": infra.kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=12, replication_factor=-1)])[topic].result(
        30
    )
    order_env = {
        "FLASHSALE_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "FLASHSALE_REDIS_URL": infra.redis_url,
        "FLASHSALE_DATABASE_URL": infra.database_url,
        "FLASHSALE_ORDERS_TOPIC": topic,
        "FLASHSALE_DEV_MODE": "true",
        "FLASHSALE_ORDER_POINTER_TTL_S": "120",
        "FLASHSALE_MAX_IN_FLIGHT": "4096",
    }
    rows: list[Row] = []
    try:
        with (
            _server("loadtests.hello_asgi:app", {}) as hello_url,
            _server("loadtests.fastapi_hello:app", {}) as fastapi_url,
            _server("order_service.app:create_app", order_env, factory=True) as order_url,
            _server(
                "gateway.app:create_app",
                {
                    "FLASHSALE_GATEWAY_ORDER_SERVICE_URL": order_url,
                    "FLASHSALE_GATEWAY_CLIENT_RATE": "1",
                    "FLASHSALE_GATEWAY_CLIENT_BURST": "1",
                },
                factory=True,
            ) as limiting_url,
            _server(
                "gateway.app:create_app",
                {
                    "FLASHSALE_GATEWAY_ORDER_SERVICE_URL": order_url,
                    "FLASHSALE_GATEWAY_CLIENT_RATE": "1e9",
                    "FLASHSALE_GATEWAY_CLIENT_BURST": "1000000",
                    "FLASHSALE_GATEWAY_GLOBAL_RATE": "1e9",
                    "FLASHSALE_GATEWAY_GLOBAL_BURST": "1000000",
                },
                factory=True,
            ) as edge_url,
            _server(
                "gateway.app:create_app",
                {
                    "FLASHSALE_GATEWAY_ORDER_SERVICE_URL": order_url,
                    "FLASHSALE_GATEWAY_CLIENT_RATE": "1e9",
                    "FLASHSALE_GATEWAY_CLIENT_BURST": "1000000",
                    "FLASHSALE_GATEWAY_GLOBAL_RATE": "1e9",
                    "FLASHSALE_GATEWAY_GLOBAL_BURST": "1000000",
                    # Flags expire at once: every sold-out POST is forwarded.
                    "FLASHSALE_GATEWAY_SOLD_OUT_TTL_S": "0.000001",
                },
                factory=True,
            ) as forwarding_url,
        ):
            sold_path, admit_path = f"/api/sales/{sold_out}/orders", f"/api/sales/{plenty}/orders"
            # Warm up (Kafka connection, producer id, script load) with users of its own.
            _wrk(order_url + admit_path, UNIQUE_USER_LUA.replace("__PREFIX__", "warm"), seconds=1)
            rows += _interleaved_rounds(
                [
                    ("bare ASGI hello", hello_url + sold_path, 200),
                    ("FastAPI hello", fastapi_url + sold_path, 200),
                    # A sale the edge knows nothing about: sold-out answers come before
                    # the buckets, so a sold-out path would never reach them.
                    ("gateway 429 path", limiting_url + "/api/sales/bench-unknown/orders", 429),
                    ("sold out, order service", order_url + sold_path, 409),
                    ("sold out, gateway edge", edge_url + sold_path, 409),
                    ("sold out, forwarded by gateway", forwarding_url + sold_path, 409),
                ]
            )
            admission = _row(
                "admission (Redis+Kafka ack)",
                order_url + admit_path,
                UNIQUE_USER_LUA.replace("__PREFIX__", "bench"),
                202,
            )
            admission.ratio = admission.rps / rows[0].rps
            rows.append(admission)
    finally:
        asyncio.run(_cleanup(infra, sold_out, plenty))
        admin.delete_topics([topic])
    return rows


async def _cleanup(infra: InfraSettings, *sale_ids: str) -> None:
    redis = Redis.from_url(infra.redis_url)
    for sale_id in sale_ids:
        await redis.delete(*SaleKeys(sale_id).all())
        await redis.srem("flashsale:sales", sale_id)
    await redis.aclose()


def table(rows: list[Row]) -> str:
    lines = [
        f"{'path':<30} {'req/s':>9} {'x hello':>8} {'expected':>9} {'p50 ms':>8} {'p99 ms':>8}"
    ]
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
        lines.append(
            f"{r.name:<30} {r.rps:>9.0f} {ratio:>8} {r.expected_share:>8.1%} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(run()))
