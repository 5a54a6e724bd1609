"""`make bench`: the seed's claims, measured side by side in one run on this machine.

Absolute numbers on a shared 2-core box are noise; the ratios inside one run are not.
Every row names its baseline, measured in the same run. Sections (`--only` runs some):

- http: the cheap paths (429, sold out) against a bare ASGI hello under the same server
  settings, then admission against the kindest synchronous checkout (wrk);
- coupled: claims 1 and 2, the coupled checkout (inventory, payment and logistics stubs
  over HTTP) against the pipeline under the same fixed load, then with payment down;
- cap: claims 3 and 4, the DB insert rate at its cap and the peak-shaving arithmetic;
- burst: claim 5, 100,000 attempts from 50,000 users for 10,000 units;
- consumer: the inventory consumer's batched writes against one order per transaction;
- raw: the raw limits of Redis (EVALSHA of reserve.lua) and PostgreSQL (pgbench).

`--only claims` is coupled + cap + burst. The rows go to .run/bench/results.json (a part
run alone replaces its own rows); `python -m loadtests.bench_report` turns them into the
README's and docs/benchmarks.md's tables.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

import typer

from flashsale.db import upgrade
from flashsale.settings import InfraSettings
from loadtests import bench_consumer, bench_http, bench_raw, claims_burst, claims_cap, wrk
from loadtests import claims_coupled as coupled
from loadtests.bench_report import render
from loadtests.bench_results import Results, result

Section = Callable[[InfraSettings], list[dict[str, Any]]]
HELLO = "bare ASGI hello"
ADMISSION = bench_http.ADMISSION


def sync_baseline(infra: InfraSettings) -> wrk.Row:
    """The kindest synchronous checkout under the same server settings and wrk load."""
    sale_id = coupled.db_sale(infra)
    env = {"FLASHSALE_DATABASE_URL": infra.database_url}
    with wrk.server("loadtests.baseline_sync:create_app", env) as url:
        path = f"{url}/api/sales/{sale_id}/orders"
        return wrk.row("sync checkout (1 DB txn/req)", path, wrk.unique_users("sync"), 201)


def http_rows(infra: InfraSettings) -> list[dict[str, Any]]:
    rows = bench_http.run(infra)
    kindest = sync_baseline(infra)
    admission = next(r for r in rows if r.name == ADMISSION)
    out = [_wrk_result(r, r.ratio, HELLO) for r in rows]
    out.append(_wrk_result(kindest, kindest.rps / admission.rps, ADMISSION))
    return out


def _wrk_result(row: wrk.Row, ratio: float | None, baseline: str) -> dict[str, Any]:
    share = row.expected_share
    return result(row.name, row.rps, row.p50_ms, row.p99_ms, ratio, baseline, expected=share)


def rate_rows(rows: list[bench_raw.Row], baselines: dict[str, str]) -> list[dict[str, Any]]:
    """Rate rows, each against the row named by the first key its name starts with."""
    by_name = {row.name: row.rate for row in rows}
    out = []
    for row in rows:
        base = next(b for prefix, b in baselines.items() if row.name.startswith(prefix))
        ratio = row.rate / by_name[base]
        out.append(result(row.name, row.rate, None, None, ratio, base, unit=row.unit))
    return out


CONSUMER_CEILING = bench_raw.PG_CONSUMER_ROWS + bench_consumer.BESIDE
POOL_CEILING = bench_raw.PG_CONSUMER_ROWS_2 + bench_consumer.BESIDE


def consumer_rows(infra: InfraSettings) -> list[dict[str, Any]]:
    # Batch 500 (one process, and the pool's two) against pgbench's 100-row transactions
    # measured right after it in this section; the other batch sizes against batch-of-1.
    baselines = {
        "inventory consumer, batch 500": bench_consumer.PG_BESIDE,
        "pg": bench_consumer.PG_BESIDE,
        "": "inventory consumer, batch 1",
    }
    rows = bench_consumer.run(infra)
    by_name = {row.name: row.rate for row in rows}
    # What the Python costs: the consumer against the same rows in SQL alone, one process
    # against one connection, the pool's two against two.
    beside_sql = [
        result(
            f"{name} (vs its rows in SQL)", by_name[name], None, None,
            by_name[name] / by_name[ceiling] if by_name[ceiling] else None, ceiling,
            unit="orders/s",
        )
        for name, ceiling in (
            ("inventory consumer, batch 500", CONSUMER_CEILING),
            (bench_consumer.POOL_ROW, POOL_CEILING),
        )
    ]  # fmt: skip
    return [*rate_rows(rows, baselines), *beside_sql]


def raw_rows(infra: InfraSettings) -> list[dict[str, Any]]:
    baselines = {"redis": "redis INCR (no script)", "pg": "pg 1 order/txn (4 clients)"}
    return rate_rows(bench_raw.run(infra), baselines)


SECTIONS: dict[str, tuple[str, Section]] = {
    "http": ("the paths of a flash sale vs a bare ASGI hello; admission vs sync", http_rows),
    "coupled": ("claims 1-2: coupled checkout vs the pipeline, same fixed load", coupled.run),
    "cap": ("claims 3-4: the DB at its cap, the peak-shaving arithmetic", claims_cap.run),
    "burst": ("claim 5: the big burst through the gateway", claims_burst.run),
    "consumer": ("the inventory consumer's write rate, unthrottled", consumer_rows),
    "raw": ("raw limits of the stores (redis-benchmark, pgbench)", raw_rows),
}
GROUPS = {"claims": ["coupled", "cap", "burst"]}


ONLY_HELP = f"a section to run (repeatable): {', '.join([*SECTIONS, *GROUPS])}"


def main(only: Annotated[list[str] | None, typer.Option("--only", help=ONLY_HELP)] = None) -> None:
    names = [n for name in only or [] for n in GROUPS.get(name, [name])] or list(SECTIONS)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise typer.BadParameter(f"unknown section(s): {', '.join(unknown)}")
    infra, results = InfraSettings(), Results()
    upgrade(infra.database_url)
    started = time.monotonic()
    for name in names:
        title, measure = SECTIONS[name]
        typer.echo(f"\n== {name}: {title}")
        rows = measure(infra)
        results.put(name, rows)
        typer.echo(render(rows))
    typer.echo(f"\nbench took {time.monotonic() - started:.0f} s; rows in {results.path}")


if __name__ == "__main__":
    typer.run(main)
