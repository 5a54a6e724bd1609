"""Fault 7 of issue 8: the network between the services and Kafka turns bad mid-burst.

The order service and the inventory consumer run as real processes and reach a Kafka of
this module's own only through Toxiproxy (the broker advertises the proxy's address on an
EXTERNAL listener, infra/local/kafka.sh). Buyers post purchases over HTTP during the
fault; every 202 token is kept. After the fault the pipeline drains and the audit checks
that each token is in PostgreSQL exactly once, every other order row is a voided attempt
(FAILED, or reinstated because its placement landed before its void), no stock was
oversold, and Redis agrees with PostgreSQL (`flashsale check` on the sale).

Each test prints one line and writes `.run/faults/<test>.json`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from redis import Redis
from sqlalchemy import Engine, text

from flashsale.check_pipeline import check_pipeline
from flashsale.kafka import ensure_topics
from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys
from tests.dedicated_kafka import DedicatedKafka
from tests.e2e.stack import wait_http
from tests.faults.toxiproxy import Proxy, toxiproxy_server
from tests.fulfilment_helpers import create_sale
from tests.infra import ROOT
from tests.net import free_port, port_is_free
from tests.polling import eventually
from tests.random_refs import random_group, random_topic, random_user_id

pytestmark = pytest.mark.faults

RECORDS = ROOT / ".run" / "faults"
# The order service's default (OrderServiceSettings.kafka_delivery_timeout_ms), said
# explicitly: the 6 s latency test is about a fault longer than this.
DELIVERY_TIMEOUT_MS = 5000


def free_port_run(count: int) -> int:
    """A free port PORT such that PORT .. PORT+count-1 are all free."""
    while True:
        port = free_port()
        if port + count < 65000 and all(port_is_free(port + i) for i in range(1, count)):
            return port


@dataclass
class ProxiedKafka(DedicatedKafka):
    """A dedicated cluster whose brokers also advertise 127.0.0.1:(proxy_port + N-1)."""

    proxy_port: int = 0

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, "FLASHSALE_KAFKA_PROXY_PORT": str(self.proxy_port)}

    def external_listener(self, node: int) -> str:
        """Where broker `node` takes the proxied connections (kafka.sh's external_port)."""
        return f"127.0.0.1:{self.port + 2 * self.brokers + node - 1}"


@dataclass
class Rig:
    infra: InfraSettings  # the shared Redis and PostgreSQL, this rig's topics, direct Kafka
    proxy: Proxy
    order_url: str
    logs: Path


@contextmanager
def proxied_kafka(brokers: int = 1) -> Iterator[tuple[ProxiedKafka, list[Proxy]]]:
    with (
        toxiproxy_server(free_port()) as toxiproxy,
        tempfile.TemporaryDirectory(prefix="flashsale-kafka-") as tmp,
    ):
        kafka_port = free_port_run(3 * brokers)  # each broker's, controller's, external port
        proxy_port = free_port_run(brokers)
        while kafka_port - brokers < proxy_port < kafka_port + 3 * brokers:  # not bound yet
            proxy_port = free_port_run(brokers)
        cluster = ProxiedKafka(Path(tmp), kafka_port, brokers, proxy_port)
        proxies = [
            toxiproxy.proxy(f"kafka-{n}", cluster.proxy_port + n - 1, cluster.external_listener(n))
            for n in range(1, brokers + 1)
        ]
        try:
            cluster.script("up")
            yield cluster, proxies
        finally:
            cluster.script("down")


def start_service(module: str, env: dict[str, str], logs: Path) -> subprocess.Popen[bytes]:
    with (logs / f"{module}.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", module], cwd=ROOT, env=env, stdout=log, stderr=log
        )


def service_envs(own: InfraSettings, kafka: str, order_port: int) -> dict[str, dict[str, str]]:
    """The order service's and the inventory consumer's env: Kafka only at `kafka`."""
    common = {
        **os.environ,
        "FLASHSALE_KAFKA_BOOTSTRAP": kafka,
        "FLASHSALE_REDIS_URL": own.redis_url,
        "FLASHSALE_DATABASE_URL": own.database_url,
        "FLASHSALE_ORDERS_TOPIC": own.orders_topic,
        "FLASHSALE_ORDER_EVENTS_TOPIC": own.order_events_topic,
        "FLASHSALE_DLQ_TOPIC": own.dlq_topic,
    }
    order_service = {
        **common,
        "FLASHSALE_ORDER_SERVICE_PORT": str(order_port),
        "FLASHSALE_ADMIN_TOKEN": secrets.token_urlsafe(24),
        "FLASHSALE_KAFKA_DELIVERY_TIMEOUT_MS": str(DELIVERY_TIMEOUT_MS),
        # Settle stuck reservations and voids within seconds of the fault's end.
        "FLASHSALE_RECOVERY_AFTER_S": "6",
        "FLASHSALE_RECOVERY_INTERVAL_S": "0.5",
    }
    inventory_consumer = {
        **common,
        "FLASHSALE_INVENTORY_GROUP_ID": random_group("inventory"),
        # The expiry worker sweeps every sale of the shared DB: not this test's business.
        "FLASHSALE_EXPIRY_ENABLED": "false",
    }
    return {"order_service": order_service, "inventory_consumer": inventory_consumer}


@pytest.fixture(scope="module")
def rig(infra: InfraSettings, engine: Engine) -> Iterator[Rig]:
    # The services' logs stay after the run, next to the records: a failure is read there.
    logs = RECORDS / "network-faults-logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    with proxied_kafka() as (cluster, proxies):
        own = infra.model_copy(
            update={
                "kafka_bootstrap": cluster.bootstrap,  # direct: the audit's reads, not faulted
                "orders_topic": random_topic("orders"),
                "order_events_topic": random_topic("events"),
                "dlq_topic": random_topic("dlq"),
            }
        )
        ensure_topics(own)
        order_port = free_port()
        # Through the proxy only: every byte between the services and Kafka crosses it.
        envs = service_envs(own, proxies[0].listen, order_port)
        processes = [start_service(module, env, logs) for module, env in envs.items()]
        try:
            wait_http(f"http://127.0.0.1:{order_port}/healthz", processes[0])
            rig = Rig(own, proxies[0], f"http://127.0.0.1:{order_port}", logs)
            one_order_through_the_proxy(rig, engine)
            yield rig
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()


def one_order_through_the_proxy(rig: Rig, engine: Engine) -> None:
    """Before any fault: an order goes from HTTP through the proxy to Kafka and back
    through it to the consumer and PostgreSQL, so a test's first produce pays no
    connection set-up and a broken rig fails here, not as a fault's violation."""
    sale_id = create_sale(engine, rig.infra, 1, "warmup")
    answer = httpx.post(
        f"{rig.order_url}/api/sales/{sale_id}/orders",
        json={"user_id": random_user_id()},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    row = text("SELECT status FROM orders WHERE order_id = CAST(:o AS uuid)")

    def written() -> bool:
        with engine.connect() as conn:
            return conn.execute(row, {"o": answer.json()["order_id"]}).scalar() == "CREATED"

    eventually(written, 60, "the warm-up order in PostgreSQL (see the services' logs)")


# --- the burst: paced purchase attempts over HTTP, every answer kept ---------------------


@dataclass(frozen=True)
class Attempt:
    started_s: float  # since the burst began
    took_s: float
    status: int  # 0: no answer (the connection failed), error names the exception
    error: str | None
    order_id: str | None  # the token of a 202


async def attempt(client: httpx.AsyncClient, sale_id: str, t0: float) -> Attempt:
    started = time.monotonic()
    try:
        answer = await client.post(
            f"/api/sales/{sale_id}/orders", json={"user_id": random_user_id()}
        )
    except httpx.TransportError as exc:  # no answer at all: status 0, the audit decides
        return Attempt(started - t0, time.monotonic() - started, 0, type(exc).__name__, None)
    body = answer.json()
    return Attempt(
        started - t0,
        time.monotonic() - started,
        answer.status_code,
        body.get("error"),
        body.get("order_id"),
    )


async def burst(url: str, sale_id: str, offered: int, per_second: float) -> list[Attempt]:
    """`offered` attempts, one every 1/per_second s whatever the answers' latency: a fault
    meets requests already in flight and new ones arriving."""
    # An idle connection is dropped after 1 s, well before the server's keep-alive timer
    # (5 s): a request never races the server closing the connection it is sent on.
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100, keepalive_expiry=1)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        t0 = time.monotonic()
        tasks = []
        for i in range(offered):
            await asyncio.sleep(max(0.0, t0 + i / per_second - time.monotonic()))
            tasks.append(asyncio.create_task(attempt(client, sale_id, t0)))
        return list(await asyncio.gather(*tasks))


@dataclass(frozen=True)
class Fault:
    """One toxic on the Kafka proxy from `on_s` to `off_s` of a paced burst at one sale."""

    test: str  # the record's name: .run/faults/<test>.json
    what: str
    toxic: str
    attributes: dict[str, int]
    on_s: float
    off_s: float
    stock: int
    offered: int
    per_second: float


@dataclass
class Window:
    """When the fault was on, in seconds since the burst began."""

    start_s: float = 0.0
    end_s: float = 0.0


async def toxic_during(proxy: Proxy, fault: Fault, t0: float, window: Window) -> None:
    await asyncio.sleep(max(0.0, t0 + fault.on_s - time.monotonic()))
    name = await asyncio.to_thread(proxy.add_toxic, fault.toxic, "downstream", **fault.attributes)
    window.start_s = time.monotonic() - t0
    await asyncio.sleep(max(0.0, t0 + fault.off_s - time.monotonic()))
    await asyncio.to_thread(proxy.remove_toxic, name)
    window.end_s = time.monotonic() - t0


async def burst_with_fault(rig: Rig, fault: Fault, sale_id: str, window: Window) -> list[Attempt]:
    t0 = time.monotonic()
    attempts, _ = await asyncio.gather(
        burst(rig.order_url, sale_id, fault.offered, fault.per_second),
        toxic_during(rig.proxy, fault, t0, window),
    )
    return attempts


# --- the audit: every token in PostgreSQL once, every other row a settled void ------------


@dataclass
class Audit:
    orders: int = 0  # rows of the sale
    found: int = 0  # tokens with their row
    failed: int = 0
    reinstated: int = 0  # live without a token: a void lost to a landed placement
    violations: list[str] = field(default_factory=list)


_ROWS = text("SELECT CAST(order_id AS text), status FROM orders WHERE sale_id = :s")
_CREATED_EVENTS = text("""
    SELECT key, count(*) FROM outbox
    WHERE event_type = 'OrderCreated' AND key = ANY(:tokens) GROUP BY key""")


def audit(rig: Rig, engine: Engine, redis: Redis, sale_id: str, tokens: set[str]) -> Audit:
    with engine.connect() as conn:
        rows: dict[str, str] = dict(conn.execute(_ROWS, {"s": sale_id}).all())
        created: dict[str, int] = dict(
            conn.execute(_CREATED_EVENTS, {"tokens": sorted(tokens)}).all()
        )
    voided = {o: s for o, s in rows.items() if o not in tokens}
    failed = {o for o, s in voided.items() if s == "FAILED"}
    found = Audit(len(rows), len(tokens & rows.keys()), len(failed), len(voided) - len(failed))
    bad = found.violations
    bad += [f"token {t} has no order" for t in tokens - rows.keys()]
    bad += [f"token {t} is {s}" for t, s in rows.items() if t in tokens and s != "CREATED"]
    bad += [f"token {t}: {created.get(t, 0)} OrderCreated" for t in tokens if created.get(t) != 1]
    # A row no client holds a token for is a voided attempt: the void applied (FAILED), or
    # lost to a placement that had landed (the order stands, the user's retry learns it);
    # or an answer lost on the way (status 0): the order stands the same way.
    bad += [f"voided order {o} is {s}" for o, s in voided.items() if s not in ("FAILED", "CREATED")]
    keys = SaleKeys(sale_id)
    released = cast(set[str], redis.smembers(keys.released))  # decode_responses=True
    bad += [f"FAILED order {o}: stock not returned" for o in failed - released]
    # Drained, nothing waits for Kafka: no reservation unacknowledged, no void unpublished,
    # and no entry left behind that no scan reads again (a pending one without pending_at).
    bad += [
        f"{k} still holds {o}"
        for k in (keys.pending, keys.voids)
        for o in cast(list[str], redis.hkeys(k))
    ]
    # `flashsale check` on the sale: no oversell, one live order per user, Redis = DB.
    for check in check_pipeline(rig.infra, sale_id).checks:
        bad += [f"{check.name}: {json.dumps(v, default=str)}" for v in check.violations[:20]]
    return found


def settled(rig: Rig, engine: Engine, redis: Redis, sale_id: str, tokens: set[str]) -> Audit:
    """Wait (bounded) until the audit holds; the last audit either way."""
    last = Audit()

    def holds() -> bool:
        nonlocal last
        last = audit(rig, engine, redis, sale_id, tokens)
        return not last.violations

    # On a timeout the record and the test's assertion name the violations left.
    with contextlib.suppress(AssertionError):
        eventually(holds, 90, "the pipeline to drain and the audit to hold", every_s=0.5)
    return last


# --- the record: one line printed, .run/faults/<test>.json (the fault harness's keys) ----


def record(
    fault: Fault,
    sale_id: str,
    attempts: list[Attempt],
    found: Audit,
    window: Window,
    drained_s: float,
) -> dict[str, Any]:
    granted = [a for a in attempts if a.status == 202]
    after = [a.started_s + a.took_s for a in granted if a.started_s >= window.end_s]
    back_s = round(min(after) - window.end_s, 2) if after else None
    took = sorted(a.took_s for a in granted) or [0.0]
    result: dict[str, Any] = {
        "test": fault.test,
        "fault": fault.what,
        "offered": len(attempts),
        "tokens": len(granted),
        "orders": found.orders,
        "found": found.found,
        "failed": found.failed,
        "untokened": found.failed + found.reinstated,
        "untokened_live": found.reinstated,
        "violations": found.violations,
        # From the fault's end until admission answered 202 again (else until drained).
        "recovery_s": back_s if back_s is not None else round(drained_s, 2),
        "drained_after_s": round(drained_s, 2),
        "answers": dict(Counter(f"{a.status} {a.error or ''}".strip() for a in attempts)),
        "extra": {
            "sale_id": sale_id,
            "fault_window_s": [round(window.start_s, 2), round(window.end_s, 2)],
            "token_latency_s": {
                "p50": round(statistics.median(took), 3),
                "max": round(took[-1], 3),
            },
        },
    }
    RECORDS.mkdir(parents=True, exist_ok=True)
    (RECORDS / f"{fault.test}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"\nFAULT {fault.what}: offered {result['offered']}, tokens {result['tokens']},"
        f" orders {found.orders}, FAILED {found.failed}, reinstated {found.reinstated},"
        f" violations {len(found.violations)}, recovery {result['recovery_s']} s,"
        f" drained {result['drained_after_s']} s, answers {result['answers']}"
    )
    return result


def run_fault(
    rig: Rig, engine: Engine, redis: Redis, fault: Fault
) -> tuple[list[Attempt], dict[str, Any]]:
    """Burst with the fault, drain, audit, record; the proxy is clean before and after."""
    sale_id = create_sale(engine, rig.infra, fault.stock, fault.test)
    window = Window()
    rig.proxy.clear()
    try:
        attempts = asyncio.run(burst_with_fault(rig, fault, sale_id, window))
    finally:
        rig.proxy.clear()
    burst_done = time.monotonic()
    tokens = {a.order_id for a in attempts if a.status == 202 and a.order_id}
    found = settled(rig, engine, redis, sale_id, tokens)
    last_answer_s = max(a.started_s + a.took_s for a in attempts)
    # The fault ended before the burst did: count from the fault's end.
    drained_s = time.monotonic() - burst_done + max(0.0, last_answer_s - window.end_s)
    return attempts, record(fault, sale_id, attempts, found, window, drained_s)


# --- the faults ---------------------------------------------------------------------------


# How slow Kafka can be before admission answers 503: librdkafka puts one partition in a
# ProduceRequest and, idempotent, keeps at most 5 in flight per broker connection. So a
# producer sends 5 partition batches per round trip, whatever the rate, and serves the
# partitions unevenly once they all wait. Measured with the services' producer settings,
# 30 messages/s over 12 partitions: at 250 ms, delivery p50 0.42 s, max 1.1-1.9 s; at
# 500 ms, p50 1.1 s, max 3.3-4.4 s, at the 5 s delivery timeout (a few 503s, voided).
LATENCY_MS = 250


def test_latency_to_kafka_slows_admission_and_loses_nothing(
    rig: Rig, engine: Engine, redis_client: Redis
) -> None:
    fault = Fault(
        f"network_latency_{LATENCY_MS}ms", f"Kafka latency {LATENCY_MS} ms", "latency",
        {"latency": LATENCY_MS}, on_s=0.0, off_s=8.0, stock=150, offered=240, per_second=30,
    )  # fmt: skip
    attempts, result = run_fault(rig, engine, redis_client, fault)
    assert result["violations"] == [], f"services' logs: {rig.logs}"
    # Every attempt is answered as without the fault: the stock sold, then sold out.
    assert result["answers"] == {"202": 150, "409 sold_out": 90}
    # ... only slower: each token waited for an ack that crossed the proxy's latency.
    assert min(a.took_s for a in attempts if a.status == 202) >= LATENCY_MS / 1000
    assert result["orders"] == 150


def test_6s_latency_beyond_the_delivery_timeout_voids_and_settles_every_order(
    rig: Rig, engine: Engine, redis_client: Redis
) -> None:
    fault = Fault(
        "network_latency_6s", "Kafka latency 6 s (> the 5 s delivery timeout)", "latency",
        {"latency": 6000}, on_s=3.0, off_s=10.0, stock=200, offered=360, per_second=20,
    )  # fmt: skip
    attempts, result = run_fault(rig, engine, redis_client, fault)
    assert result["violations"] == [], f"services' logs: {rig.logs}"
    unavailable = [a for a in attempts if a.status == 503]
    assert unavailable, "the fault never reached admission"
    assert {a.error for a in unavailable} == {"kafka_unavailable"}
    # A client never hangs: a 503 comes within one delivery timeout (plus scheduling).
    assert max(a.took_s for a in unavailable) < DELIVERY_TIMEOUT_MS / 1000 + 2
    # Reserved, then not acknowledged: voided orders, each FAILED or standing (landed).
    assert result["untokened"] >= 1
    assert result["tokens"] + result["untokened_live"] <= fault.stock
    assert any(a.status == 202 and a.started_s >= fault.off_s for a in attempts), "no 202 after"


def test_connection_resets_mid_burst_lose_and_duplicate_nothing(
    rig: Rig, engine: Engine, redis_client: Redis
) -> None:
    fault = Fault(
        "network_connection_resets", "Kafka connections reset for 3 s", "reset_peer",
        {"timeout": 0}, on_s=4.0, off_s=7.0, stock=260, offered=300, per_second=25,
    )  # fmt: skip
    attempts, result = run_fault(rig, engine, redis_client, fault)
    assert result["violations"] == [], f"services' logs: {rig.logs}"
    # The resets reached admission: answers waited for a new connection, or failed.
    assert [a for a in attempts if a.status == 503 or a.took_s >= 1.0], "no answer felt them"
    assert result["tokens"] >= 1
    assert any(a.status == 202 and a.started_s >= fault.off_s for a in attempts), "no 202 after"
