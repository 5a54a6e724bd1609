"""`flashsale`: the operator's command line (init, check, ...)."""

from __future__ import annotations

import typer

from flashsale.check import check_invariants
from flashsale.db import make_engine, upgrade
from flashsale.kafka import ensure_topics
from flashsale.settings import InfraSettings

app = typer.Typer(help="Operate a flashsale deployment.", no_args_is_help=True)


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


if __name__ == "__main__":
    app()
