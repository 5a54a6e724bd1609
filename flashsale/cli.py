"""`flashsale`: the operator's command line (init, check, ...)."""

from __future__ import annotations

from functools import partial

import orjson
import typer
from pydantic import ValidationError
from redis import Redis
from rich.console import Console

from flashsale.check import Report
from flashsale.check_pipeline import check_pipeline
from flashsale.db import make_engine, upgrade
from flashsale.demo.outcome import DemoPlan
from flashsale.demo.report import demo_progress, render
from flashsale.demo.run import run_demo
from flashsale.demo.settings import DemoSettings
from flashsale.dlq_replay import replay_dlq
from flashsale.kafka import ensure_topics
from flashsale.lag import wait_until_consumed
from flashsale.repair import SaleRepair, sales_to_repair
from flashsale.settings import InfraSettings

app = typer.Typer(help="Operate a flashsale deployment.", no_args_is_help=True)
dlq_app = typer.Typer(help="The dead-letter queue.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")


@app.command()
def init() -> None:
    """Apply the DB migrations and create the Kafka topics. Idempotent."""
    settings = InfraSettings()
    upgrade(settings.database_url)
    created = ensure_topics(settings)
    typer.echo("schema at head; topics created: " + (", ".join(created) or "none (all existed)"))


@app.command()
def check(
    sale_id: str | None = typer.Option(None, "--sale", help="Check one sale only."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    pending_age_s: float = typer.Option(
        60.0, help="A reservation unacknowledged this long is stuck."
    ),
    outbox_age_s: float = typer.Option(60.0, help="An outbox row unsent this long is stuck."),
    drain_s: float = typer.Option(
        0.0, help="First wait up to this long for the inventory group to consume the orders."
    ),
) -> None:
    """Check the invariants across PostgreSQL, Redis and the DLQ; exit 1 on any violation.
    Redis agrees with PostgreSQL once the pipeline has drained: run it after a sale."""
    settings = InfraSettings()
    if drain_s > 0 and not _drained(settings, drain_s):
        typer.echo(f"the orders topic did not drain within {drain_s:.0f} s; checking anyway")
    report = check_pipeline(settings, sale_id, pending_age_s, outbox_age_s)
    _print_report(report, as_json)
    if not report.ok:
        raise typer.Exit(1)


def _drained(settings: InfraSettings, timeout_s: float) -> bool:
    group, topic = settings.inventory_group_id, settings.orders_topic
    return wait_until_consumed(settings, group, topic, timeout_s)


def _print_report(report: Report, as_json: bool) -> None:
    if as_json:
        typer.echo(orjson.dumps(report.as_dict(), default=str, option=orjson.OPT_INDENT_2))
        return
    for result in report.checks:
        if result.ok:
            typer.echo(f"ok        {result.name}")
        else:
            typer.echo(f"VIOLATED  {result.name}: {result.violations[:10]}")
    typer.echo("all invariants hold" if report.ok else "invariants VIOLATED")


@app.command()
def repair(
    sale_id: str | None = typer.Option(
        None, "--sale", help="Repair one sale (default: every sale not ended)."
    ),
    settle_s: float = typer.Option(
        6.0, help="Wait for produces under way (> the Kafka delivery timeout)."
    ),
    drain_timeout_s: float = typer.Option(
        300.0, help="Give the consumers this long to drain the lag."
    ),
) -> None:
    """Rebuild sales' Redis state from PostgreSQL after Redis lost data (fenced meanwhile)."""
    settings = InfraSettings()
    engine = make_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    drained = partial(
        wait_until_consumed,
        settings.kafka_bootstrap,
        settings.inventory_group_id,
        settings.orders_topic,
        drain_timeout_s,
    )
    try:
        sale_ids = [sale_id] if sale_id else sales_to_repair(engine)
        reports = SaleRepair(engine, redis, drained, settle_s).repair(sale_ids)
    finally:
        redis.close()
        engine.dispose()
    for r in reports:
        typer.echo(
            f"repaired {r.sale_id}: stock {r.stock}, {r.buyers} buyers, "
            f"{r.in_flight} in flight, {r.released} released"
        )


@app.command()
def demo(
    stock: int = typer.Option(1000, min=1, help="Units on sale."),
    attempts: int = typer.Option(20_000, min=1, help="Purchase attempts in the burst."),
    users: int = typer.Option(10_000, min=1, help="Distinct buyers; some try more than once."),
    concurrency: int = typer.Option(100, min=1, help="Requests in flight at once."),
    drain_timeout_s: float = typer.Option(60.0, min=1, help="Wait this long for the orders."),
    sale_prefix: str = typer.Option("demo", help="Sale ids start with it (tests clean up by it)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object, no progress."),
) -> None:
    """Run one flash sale through a running system (`make up`) and report what each layer
    did, from PostgreSQL and Kafka; exit 1 if an invariant fails."""
    settings = _demo_settings()
    plan = DemoPlan(stock, attempts, users, concurrency, drain_timeout_s, sale_prefix)
    stdout = Console()
    progress = demo_progress(Console(stderr=True), disable=as_json)
    outcome = run_demo(settings, plan, progress, (lambda _: None) if as_json else stdout.print)
    if as_json:
        typer.echo(orjson.dumps(outcome.as_dict(), option=orjson.OPT_INDENT_2))
    else:
        render(outcome, stdout)
    if not outcome.ok:
        raise typer.Exit(1)


def _demo_settings() -> DemoSettings:
    try:
        return DemoSettings()
    except ValidationError as exc:
        typer.echo(
            "no running system found: start one with `make up` (it writes .run/services.env)"
            " or set FLASHSALE_GATEWAY_URL, FLASHSALE_ORDER_SERVICE_URL, FLASHSALE_ADMIN_TOKEN",
            err=True,
        )
        raise typer.Exit(2) from exc


@dlq_app.command("replay")
def dlq_replay(
    limit: int = typer.Option(1000, min=1, help="Re-drive at most this many messages."),
    timeout: float = typer.Option(60.0, min=1, help="Stop after this many seconds."),
    group: str = typer.Option("flashsale.dlq-replay", help="Consumer group keeping the progress."),
) -> None:
    """Send DLQ messages back to their source topic (from their headers), after a fix."""
    report = replay_dlq(InfraSettings(), group, limit, timeout)
    for topic, count in sorted(report.replayed.items()):
        typer.echo(f"replayed {count} to {topic}")
    typer.echo(f"replayed {report.total}, skipped {report.skipped} (no source topic)")


if __name__ == "__main__":
    app()
