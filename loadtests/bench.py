"""`make bench`: the seed's claims, measured side by side in one run on this machine.

Absolute numbers on a shared 2-core box are noise; the ratios inside one run are not.
Sections:
1. the cheap paths (429, sold out) against a bare ASGI hello under the same server settings;
2. the admission path against the synchronous, tightly-coupled checkout it replaces;
3. the inventory consumer's batched writes against one order per transaction;
4. the raw limits of Redis (EVALSHA of reserve.lua) and PostgreSQL (pgbench).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import typer

from flashsale.contracts import CreateSale
from flashsale.db import make_engine, upgrade
from flashsale.db.sales import insert_sale
from flashsale.settings import InfraSettings
from loadtests import bench_consumer, bench_http, bench_raw, wrk

BASELINE_STOCK = 10_000_000


def _baseline_sale(infra: InfraSettings) -> str:
    sale_id, now = f"bench-sync-{uuid.uuid4().hex[:8]}", datetime.now(UTC)
    sale = CreateSale(
        sale_id=sale_id,
        name="sync baseline",
        stock=BASELINE_STOCK,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )
    with make_engine(infra.database_url).begin() as conn:
        insert_sale(conn, sale)
    return sale_id


def sync_baseline(infra: InfraSettings) -> wrk.Row:
    """The tightly-coupled checkout under the same server settings and the same wrk load."""
    sale_id = _baseline_sale(infra)
    env = {"FLASHSALE_DATABASE_URL": infra.database_url}
    with wrk.server("loadtests.baseline_sync:create_app", env, factory=True) as url:
        path = f"{url}/api/sales/{sale_id}/orders"
        return wrk.row("sync checkout (1 DB txn/req)", path, wrk.unique_users("sync"), 201)


def _section(title: str) -> None:
    typer.echo(f"\n== {title}")


def main(skip_consumer: bool = False, skip_raw: bool = False) -> None:
    infra = InfraSettings()
    upgrade(infra.database_url)
    started = time.monotonic()
    admission = _admission_rows(infra)
    if not skip_consumer:
        _section("3. the inventory consumer's write rate into PostgreSQL, unthrottled")
        _print_rates(bench_consumer.run(infra))
    if not skip_raw:
        _section("4. raw limits of the stores (redis-benchmark, pgbench)")
        raw = bench_raw.run(infra)
        _print_rates(raw)
        evalsha = next(r for r in raw if "EVALSHA" in r.name)
        typer.echo(
            f"admission runs at {admission.rps / evalsha.rate:.2f}x the Redis script's raw rate"
        )
    typer.echo(f"\nbench took {time.monotonic() - started:.0f} s")


def _admission_rows(infra: InfraSettings) -> wrk.Row:
    """Sections 1 and 2: the HTTP paths, then admission against the coupled checkout."""
    _section(
        "1. the paths that carry a flash sale's traffic, vs a bare ASGI hello (same server settings)"
    )
    http_rows = bench_http.run(infra)
    typer.echo(wrk.table(http_rows))
    _section(
        "2. admission vs the synchronous, tightly-coupled checkout (wrk, one fresh user per request)"
    )
    admission = next(r for r in http_rows if r.name.startswith("admission"))
    baseline = sync_baseline(infra)
    baseline.ratio = baseline.rps / http_rows[0].rps
    typer.echo(wrk.table([admission, baseline]))
    typer.echo(
        f"admission answers {admission.rps / baseline.rps:.1f}x the requests/s of the synchronous"
        f" checkout, p99 {admission.p99_ms:.0f} ms vs {baseline.p99_ms:.0f} ms"
    )
    return admission


def _print_rates(rows: list[Any]) -> None:
    for row in rows:
        typer.echo(f"{row.name:<36} {row.rate:>10,.0f} {row.unit:<9} {row.note}")


if __name__ == "__main__":
    typer.run(main)
