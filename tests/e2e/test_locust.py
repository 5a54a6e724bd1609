"""`loadtests/locustfile.py` for about 20 s against a stack of the test's own: every request
type is exercised, the system answers no error, and the invariants hold. No timings: a
shared machine's figures say nothing. Locust runs as a subprocess, because importing it
monkeypatches this process with gevent."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from flashsale.check_pipeline import check_pipeline
from flashsale.settings import InfraSettings
from tests.e2e.stack import Stack, running_stack
from tests.polling import eventually
from tests.random_refs import RUN_SALE_PREFIX, suffix

pytestmark = pytest.mark.e2e

LOCUSTFILE = Path(__file__).resolve().parents[2] / "loadtests" / "locustfile.py"
STOCK = 40
# Short, so some unpaid orders expire (and give their stock back) within the run.
ORDER_TTL_S = 10
LIVE_UNITS = text(
    "SELECT coalesce(sum(quantity), 0) FROM orders"
    " WHERE sale_id = :sale_id AND status IN ('CREATED', 'PAID')"
)
REQUEST_NAMES = {"waiting room", "buy", "order status", "pay"}


@pytest.fixture(scope="module")
def stack(infra: InfraSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("e2e-locust-logs")
    with running_stack(infra, logs, order_ttl_s=ORDER_TTL_S) as stack:
        yield stack


def run_locust(stack: Stack, workdir: Path, sale_id: str) -> subprocess.CompletedProcess[bytes]:
    env = {
        **stack.env,
        "FLASHSALE_GATEWAY_URL": stack.gateway_url,
        "FLASHSALE_ORDER_SERVICE_URL": stack.order_url,
    }
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "-u", "15", "-r", "15", "--run-time", "20s", "--shape", "steady",
        "--sale-id", sale_id, "--stock", str(STOCK), "--pay-share", "0.5",
        "--csv", str(workdir / "run"),
    ]  # fmt: skip
    return subprocess.run(command, env=env, cwd=workdir, capture_output=True, timeout=120)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as rows:
        return list(csv.DictReader(rows))


def test_a_short_locust_run_exercises_every_request_and_keeps_the_invariants(
    infra: InfraSettings, engine: Engine, stack: Stack, tmp_path: Path
) -> None:
    sale_id = f"{RUN_SALE_PREFIX}locust-{suffix()}"
    done = run_locust(stack, tmp_path, sale_id)
    assert done.returncode == 0, done.stderr.decode()[-4000:]

    stats = {row["Name"]: row for row in read_csv(tmp_path / "run_stats.csv")}
    assert stats.keys() >= REQUEST_NAMES, stats.keys()
    for name in REQUEST_NAMES:
        assert int(stats[name]["Request Count"]) >= 1, stats[name]
    # A 503 with Retry-After is the system asking to wait: the locustfile files it under
    # "buy: told to wait (503)", never as a failure. Any 5xx failure is an error.
    failures = read_csv(tmp_path / "run_failures.csv")
    assert not [f for f in failures if re.search(r"\b5\d\d\b", f["Error"])], failures
    assert int(stats["Aggregated"]["Failure Count"]) == 0, failures

    settings = infra.model_copy(update={"dlq_topic": stack.env["FLASHSALE_DLQ_TOPIC"]})
    report = eventually(
        lambda: (r := check_pipeline(settings, sale_id)).ok and r, 30, "the invariants to hold"
    )
    assert report.ok, report.as_dict()
    with engine.connect() as conn:
        sold = conn.execute(LIVE_UNITS, {"sale_id": sale_id}).scalar_one()
    assert 0 < sold <= STOCK  # no oversell
