"""`flashsale demo --json` against a stack of the test's own: the numbers a script reads,
and the invariants the demo promises, with the inventory consumer capped so the burst
builds a Kafka lag that then drains."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from flashsale.settings import InfraSettings
from tests.e2e.stack import Stack, running_stack
from tests.random_refs import RUN_SALE_PREFIX

pytestmark = pytest.mark.e2e

STOCK, ATTEMPTS, USERS = 50, 600, 300
# Orders/s the inventory consumer writes: the 50 orders take ~2 s, so the lag is seen.
WRITE_CAP = 25
KEYS = {
    "stock", "offered", "admitted", "rate_limited", "sold_out", "already_purchased",
    "orders_created", "oversell", "duplicate_orders", "tokens_without_order", "peak_lag",
    "drain_seconds", "p50_ms", "p99_ms", "errors", "check_passed", "ok", "violations",
}  # fmt: skip


@pytest.fixture(scope="module")
def stack(infra: InfraSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("e2e-demo-logs")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FLASHSALE_MAX_ORDERS_PER_SECOND", str(WRITE_CAP))
        with running_stack(infra, logs) as stack:
            yield stack


def run_demo(stack: Stack, workdir: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The installed command line, as `make demo` runs it, pointed at this stack by env
    vars (and run elsewhere than the repo, so a `.run/services.env` there is not read)."""
    env = {
        **stack.env,
        "FLASHSALE_GATEWAY_URL": stack.gateway_url,
        "FLASHSALE_ORDER_SERVICE_URL": stack.order_url,
    }
    command = [sys.executable, "-m", "flashsale.cli", "demo", *args]
    return subprocess.run(command, env=env, cwd=workdir, capture_output=True, timeout=180)


def test_demo_json_reports_a_clean_sale_read_back_from_the_stores(
    stack: Stack, tmp_path: Path
) -> None:
    done = run_demo(
        stack, tmp_path, "--json", "--stock", str(STOCK), "--attempts", str(ATTEMPTS),
        "--users", str(USERS), "--sale-prefix", f"{RUN_SALE_PREFIX}demo",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-4000:]
    report: dict[str, Any] = orjson.loads(done.stdout)

    assert report.keys() >= KEYS, KEYS - report.keys()
    assert report["stock"] == STOCK
    assert report["offered"] == ATTEMPTS
    answered = ("admitted", "rate_limited", "sold_out", "already_purchased", "errors")
    assert sum(report[k] for k in answered) == ATTEMPTS, report
    assert 0 < report["admitted"] <= STOCK
    assert report["orders_created"] == report["admitted"]
    assert report["oversell"] == 0
    assert report["duplicate_orders"] == 0
    assert report["tokens_without_order"] == 0
    assert report["check_passed"] and report["ok"] and report["violations"] == []
    # The write cap held the orders in Kafka for a while: the sampler saw the queue.
    assert report["peak_lag"] > 0
    assert report["drain_seconds"] >= 0
    assert 0 < report["p50_ms"] <= report["p99_ms"]


def test_demo_without_a_system_says_how_to_start_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASHSALE_")}
    done = subprocess.run(
        [sys.executable, "-m", "flashsale.cli", "demo", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert b"make up" in done.stderr
