"""The live dashboard in real headless Chromium (Debian's, driven by Playwright; never a
browser Playwright downloads): a stack of the test's own, the dashboard watching it, a
small burst through the gateway, and the charts' data read back from the page."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from flashsale.demo.burst import attempt_schedule, burst
from flashsale.settings import InfraSettings
from tests.e2e.stack import Stack, running_stack, wait_http
from tests.net import free_port
from tests.polling import eventually
from tests.random_refs import random_sale_id

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
STOCK, ATTEMPTS, USERS = 50, 300, 150
# Orders/s the inventory consumer writes: the 50 orders take ~5 s, a backlog the 1 s
# samples cannot miss, drained at a flat DB line.
WRITE_CAP = 10
# Per chart, per series: the largest value the page's uPlot instance holds.
CHART_PEAKS = """() => Object.fromEntries(Object.entries(window.flashsaleCharts).map(
  ([name, chart]) => [name, Object.fromEntries(chart.series.slice(1).map((s, i) =>
    [s.label, Math.max(0, ...chart.data[i + 1].filter((v) => v !== null))]))]))"""
SAMPLE_PEAKS = """() => {
  const s = window.flashsaleSamples, peak = (f) => Math.max(0, ...s.map(f).filter((v) => v != null));
  const rates = ["inbound", "admitted", "rate_limited", "sold_out", "produced", "consumed", "written"];
  const out = Object.fromEntries(rates.map((k) => [k, peak((x) => x.rates[k])]));
  const last = s[s.length - 1] || {};
  return {...out, samples: s.length, lag: peak((x) => x.lag), last_lag: last.lag,
          last_stock: last.stock, last_checks: last.checks, sale: last.sale};
}"""


@pytest.fixture(scope="module")
def stack(infra: InfraSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("e2e-dashboard-logs")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FLASHSALE_MAX_ORDERS_PER_SECOND", str(WRITE_CAP))
        with running_stack(infra, logs) as stack:
            yield stack


@pytest.fixture
def sale_id() -> str:
    return random_sale_id("dashboard")


@pytest.fixture
def dashboard_url(stack: Stack, sale_id: str) -> Iterator[str]:
    """`python -m dashboard` pointed at the stack, as `make up` would start it, watching
    the test's sale (other tests share the database and Redis)."""
    port = free_port()
    env = {
        **stack.env,
        "FLASHSALE_DASHBOARD_SALE_ID": sale_id,
        "FLASHSALE_DASHBOARD_PORT": str(port),
        "FLASHSALE_GATEWAY_URL": stack.gateway_url,
        "FLASHSALE_ORDER_SERVICE_URL": stack.order_url,
    }
    log = open(stack.log_dir / "dashboard.log", "ab")  # noqa: SIM115 (the process owns it)
    process = subprocess.Popen([sys.executable, "-m", "dashboard"], env=env, stdout=log, stderr=log)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def create_sale(stack: Stack, sale_id: str) -> None:
    created = httpx.post(
        f"{stack.order_url}/admin/sales",
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        json={
            "sale_id": sale_id, "name": "Dashboard e2e", "stock": STOCK, "per_user_limit": 1,
            "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2999-01-01T00:00:00Z",
        },
        timeout=10,
    )  # fmt: skip
    created.raise_for_status()


def test_the_dashboard_plots_a_burst_live_in_headless_chromium(
    stack: Stack, sale_id: str, dashboard_url: str, tmp_path: Path
) -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"no {CHROMIUM}: apt-get install -y chromium (make install does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(dashboard_url)
            eventually(lambda: page.evaluate(SAMPLE_PEAKS)["samples"] >= 2, 20, "samples")
            create_sale(stack, sale_id)
            eventually(lambda: page.evaluate(SAMPLE_PEAKS)["last_stock"] == STOCK, 20, "stock")
            buyers = [f"{sale_id}-user{u}" for u in attempt_schedule(ATTEMPTS, USERS)]
            # In a thread: Playwright's sync API keeps an event loop running in this one.
            with ThreadPoolExecutor(1) as pool:
                answers = pool.submit(burst, stack.gateway_url, sale_id, buyers, 50).result()
            assert len(answers) == ATTEMPTS
            seen: list[dict[str, Any]] = [{}]

            def burst_shown_and_drained() -> dict[str, Any] | None:
                seen[0] = page.evaluate(SAMPLE_PEAKS)
                return drained(seen[0], sale_id)

            try:
                peaks = eventually(burst_shown_and_drained, 90, "the burst, then the drain")
            finally:
                save_screenshot(page, tmp_path)
                print("last figures the page held:", seen[0])
            charts = page.evaluate(CHART_PEAKS)
            assert errors == []
        finally:
            browser.close()

    for figure in ("inbound", "admitted", "produced", "consumed", "written"):
        assert peaks[figure] > 0, (figure, peaks)
    assert peaks["lag"] > 0, "the write cap held orders in Kafka: a backlog was seen"
    assert peaks["written"] <= WRITE_CAP * 1.5, "the DB line stayed flat at the write cap"
    assert peaks["last_stock"] == 0, "sold out"
    assert charts["peak"]["inbound/s"] > 0 and charts["peak"]["DB writes/s"] > 0, charts
    assert charts["peak"]["queue backlog"] > 0, charts
    assert all(max(series.values()) > 0 for series in charts.values()), charts


def drained(peaks: dict[str, Any], sale_id: str) -> dict[str, Any] | None:
    """The peaks once the backlog is gone and a check of this sale came back green."""
    checks = peaks["last_checks"] or {}
    green = checks.get("scope") == sale_id and checks.get("ok")
    seen = peaks["written"] > 0 and peaks["lag"] > 0 and peaks["last_lag"] == 0
    return peaks if seen and green else None


def save_screenshot(page: Any, tmp_path: Path) -> None:
    """Under the test's tmp_path, and where CI collects artifacts (.run/artifacts/)."""
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=shot, full_page=True)
    artifacts = Path(os.environ.get("FLASHSALE_ARTIFACTS", ROOT / ".run" / "artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, artifacts / "dashboard.png")
