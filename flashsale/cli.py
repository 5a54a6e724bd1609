"""`flashsale`: the operator's command line (init, check, ...)."""

from __future__ import annotations

import typer

from flashsale.check import check_invariants
from flashsale.db import make_engine, upgrade
from flashsale.dlq_replay import replay_dlq
from flashsale.kafka import ensure_topics
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
def check(sale_id: str | None = typer.Option(None, help="Check one sale only.")) -> None:
    """Check the invariants from the database; exit 1 on any violation."""
    violations = check_invariants(make_engine(InfraSettings().database_url), sale_id)
    for violation in violations:
        typer.echo(f"VIOLATED {violation.check}: {violation.rows[:10]}", err=True)
    if violations:
        raise typer.Exit(1)
    typer.echo("all invariants hold")


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
