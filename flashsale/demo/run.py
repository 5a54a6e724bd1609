"""The demo from start to end: warm up, create the sale, burst, drain, read back, check."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path

from rich.progress import Progress
from sqlalchemy import Engine

from flashsale.check_pipeline import check_pipeline
from flashsale.db import make_engine
from flashsale.demo.burst import attempt_schedule, burst
from flashsale.demo.lag_sampler import LagSampler, inventory_lag
from flashsale.demo.orders import sale_orders, wait_for_orders
from flashsale.demo.outcome import AnswerCounts, BurstResult, DemoOutcome, DemoPlan, DrainResult
from flashsale.demo.sale import create_sale
from flashsale.demo.settings import DemoSettings

__all__ = ["run_demo"]


def run_demo(
    settings: DemoSettings,
    plan: DemoPlan,
    progress: Progress,
    announce: Callable[[str], None] = lambda _: None,
) -> DemoOutcome:
    run = f"{int(time.time())}-{secrets.token_hex(2)}"
    sale_id = f"{plan.sale_prefix}-{run}"
    if settings.dashboard_url:  # first: a moment to open it before the burst starts
        announce(f"watch it live: {settings.dashboard_url}")
    _warm_up(settings, f"{plan.sale_prefix}-warmup-{run}")
    create_sale(settings, sale_id, plan.stock)
    announce(
        f"sale {sale_id}: {plan.stock:,} units, {plan.attempts:,} attempts from "
        f"{plan.users:,} users, {plan.concurrency} at a time"
    )
    engine = make_engine(settings.database_url)
    try:
        with progress:
            sent, drained = _burst_and_drain(settings, engine, sale_id, plan, progress)
        orders = sale_orders(engine, sale_id)
    finally:
        engine.dispose()
    report = check_pipeline(settings, sale_id)
    failed = [c.name for c in report.checks if not c.ok]
    emails = _emails(settings.maildir, sale_id)
    return DemoOutcome(sale_id, plan, AnswerCounts.of(sent), orders, drained, failed, emails)


def _warm_up(settings: DemoSettings, sale_id: str) -> None:
    """One purchase in a sale of its own first: Kafka connections, metadata and the Lua
    script are warm before the clock starts, as they are minutes into a real sale."""
    create_sale(settings, sale_id, 1)
    burst(settings.gateway_url, sale_id, [f"{sale_id}-buyer"], 1)


def _burst_and_drain(
    settings: DemoSettings, engine: Engine, sale_id: str, plan: DemoPlan, progress: Progress
) -> tuple[BurstResult, DrainResult]:
    buyers = [f"{sale_id}-user{u}" for u in attempt_schedule(plan.attempts, plan.users)]
    sending = progress.add_task("burst: answers", total=len(buyers), lag="-")

    def show_lag(lag: int) -> None:  # on the bar still running
        for task in progress.tasks:
            if not task.finished:
                progress.update(task.id, lag=lag)

    with LagSampler(inventory_lag(settings), show_lag) as sampler:
        started = time.perf_counter()
        answers = burst(
            settings.gateway_url,
            sale_id,
            buyers,
            plan.concurrency,
            lambda _: progress.advance(sending),
        )
        sent = time.perf_counter()
        tokens = {a.order_id for a in answers if a.order_id is not None}
        lag = "-" if sampler.last is None else sampler.last
        draining = progress.add_task("drain: orders in PostgreSQL", total=len(tokens), lag=lag)
        missing = wait_for_orders(
            engine,
            sale_id,
            tokens,
            plan.drain_timeout_s,
            lambda done: progress.update(draining, completed=done),
        )
        drain_s = time.perf_counter() - sent
    return (
        BurstResult(answers, sent - started),
        DrainResult(len(missing), round(drain_s, 3), sampler.peak, sampler.samples),
    )


def _emails(maildir: Path | None, sale_id: str) -> int | None:
    """Confirmation emails for the sale in the local SMTP sink's Maildir, so far."""
    if maildir is None or not (maildir / "new").is_dir():
        return None
    return sum(1 for f in (maildir / "new").iterdir() if sale_id in f.read_text(errors="replace"))
