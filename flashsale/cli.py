"""`flashsale`: the operator's command line (init, check, ...)."""

from __future__ import annotations

from functools import partial

import orjson
import typer
from redis import Redis

from flashsale.check import Report
from flashsale.check_pipeline import check_pipeline
from flashsale.db import make_engine, upgrade
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
) -> None:
    """Check the invariants across PostgreSQL, Redis and the DLQ; exit 1 on any violation.
    Redis agrees with PostgreSQL once the pipeline has drained: run it after a sale."""
    report = check_pipeline(InfraSettings(), sale_id, pending_age_s, outbox_age_s)
    _print_report(report, as_json)
    if not report.ok:
        raise typer.Exit(1)


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
