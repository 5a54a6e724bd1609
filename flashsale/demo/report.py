"""The demo on a terminal: progress bars while it runs, one table when it is done.

rich draws the bars only on a terminal; piped or in CI it does not redraw them line by
line, so a log stays readable."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from flashsale.demo.outcome import DemoOutcome

__all__ = ["demo_progress", "render"]


def demo_progress(console: Console, disable: bool = False) -> Progress:
    """A bar for the burst (answers received) and one for the drain (orders written),
    each with the inventory group's Kafka lag as last sampled."""
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("Kafka lag {task.fields[lag]:>6}"),
        TimeElapsedColumn(),
        console=console,
        disable=disable,
    )


def render(outcome: DemoOutcome, console: Console) -> None:
    table = Table(title=f"flash sale {outcome.sale_id}", title_justify="left")
    table.add_column("where")
    table.add_column("what")
    table.add_column("count", justify="right")
    for where, what, value in _rows(outcome):
        table.add_row(where, what, value)
    console.print(table)
    if outcome.ok:
        console.print("[green]all invariants hold[/]")
    else:
        console.print(f"[red]invariants VIOLATED: {', '.join(outcome.violations)}[/]")


def _rows(o: DemoOutcome) -> list[tuple[str, str, str]]:
    a, orders, drain = o.answers, o.orders, o.drain
    rate = a.offered / a.burst_seconds if a.burst_seconds else 0.0
    rows = [
        ("clients", f"attempts in {a.burst_seconds:.2f} s ({rate:,.0f}/s)", f"{a.offered:,}"),
        ("", "202 admitted (order token)", f"{a.admitted:,}"),
        ("", "429 rate_limited", f"{a.rate_limited:,}"),
        ("", "409 sold_out", f"{a.sold_out:,}"),
        ("", "409 already_purchased", f"{a.already_purchased:,}"),
        *(("", f"other: {what}", f"{n:,}") for what, n in a.other_answers.items()),
        ("", "order token latency p50 / p99", f"{a.p50_ms:.1f} / {a.p99_ms:.1f} ms"),
        ("Kafka", "peak inventory lag", f"{drain.peak_lag:,}"),
        ("", "drain after the burst", f"{drain.drain_seconds:.2f} s"),
        ("PostgreSQL", f"orders created (stock {orders.stock:,})", f"{orders.orders_created:,}"),
        ("", "oversell", str(orders.oversell)),
        ("", "duplicate orders", str(orders.duplicate_orders)),
        ("", "tokens without an order", str(drain.tokens_without_order)),
        ("check", "flashsale check --sale", "ok" if not o.failed_checks else "VIOLATED"),
        *(("", f"failed: {name}", "") for name in o.failed_checks),
    ]
    if o.emails is not None:
        rows.append(("email", "confirmations in the Maildir so far", f"{o.emails:,}"))
    return rows
