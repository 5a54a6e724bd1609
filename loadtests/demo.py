"""`make demo`: one flash sale against the running system, and a report of what happened.

It creates a sale through the admin API, sends a stampede of buyers through the gateway
(many more buyers than units, all at once), waits for the pipeline to write the orders,
and prints what each layer did, then checks the invariants from PostgreSQL.

The demo plays the trusted auth proxy in front of the gateway: it names each buyer with
`X-Authenticated-User`, which the local gateway believes from 127.0.0.1 (see make up).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import httpx
import typer
from sqlalchemy import text

from flashsale.check_pipeline import check_pipeline
from flashsale.db import make_engine
from flashsale.settings import InfraSettings

ROOT = Path(__file__).resolve().parent.parent


def _services_env() -> dict[str, str]:
    path = ROOT / ".run" / "services.env"
    if not path.exists():
        raise typer.BadParameter("no .run/services.env: start the system with `make up` first")
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v for k, v in pairs}


async def _buy(session: aiohttp.ClientSession, url: str, user: str) -> tuple[int, str, float]:
    started = time.perf_counter()
    payload = {"user_id": user, "quantity": 1}
    async with session.post(url, json=payload, headers={"X-Authenticated-User": user}) as response:
        body = (
            await response.json(content_type=None)
            if response.content_type == "application/json"
            else {}
        )
    return (
        response.status,
        str(body.get("error", body.get("status", ""))),
        time.perf_counter() - started,
    )


async def _stampede(
    gateway: str, sale_id: str, buyers: int, concurrency: int
) -> list[tuple[int, str, float]]:
    """`concurrency` workers, each buying for the next user until every buyer had a go.

    aiohttp rather than httpx here: httpx's connection pool slows down sharply with many
    concurrent requests, and the demo would end up measuring its own client.
    """
    users = iter(range(buyers))
    results: list[tuple[int, str, float]] = []
    url = f"{gateway}/api/sales/{sale_id}/orders"

    async def worker(session: aiohttp.ClientSession) -> None:
        for i in users:
            results.append(await _buy(session, url, f"demo-user-{i}"))

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=30)
    ) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return results


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct))] * 1000 if ordered else 0.0


def _create_sale(env: dict[str, str], sale_id: str, stock: int) -> None:
    now = datetime.now(UTC)
    created = httpx.post(
        f"{env['FLASHSALE_ORDER_SERVICE_URL']}/admin/sales",
        headers={"Authorization": f"Bearer {env['FLASHSALE_ADMIN_TOKEN']}"},
        json={
            "sale_id": sale_id,
            "name": "Demo flash sale",
            "stock": stock,
            "per_user_limit": 1,
            "starts_at": (now - timedelta(seconds=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
        },
        timeout=10,
    )
    created.raise_for_status()


def main(stock: int = 100, buyers: int = 2000, concurrency: int = 100) -> None:
    env = _services_env()
    infra = InfraSettings()
    stamp = int(time.time())
    # One purchase in a sale of its own first: Kafka connections, metadata and the Lua
    # script are warm before the clock starts, as they are minutes into a real sale.
    _create_sale(env, f"demo-warmup-{stamp}", 1)
    asyncio.run(_stampede(env["FLASHSALE_GATEWAY_URL"], f"demo-warmup-{stamp}", 1, 1))
    sale_id = f"demo-{stamp}"
    _create_sale(env, sale_id, stock)
    typer.echo(f"sale {sale_id}: {stock} units, {buyers} buyers, {concurrency} at a time\n")

    started = time.perf_counter()
    results = asyncio.run(_stampede(env["FLASHSALE_GATEWAY_URL"], sale_id, buyers, concurrency))
    burst_s = time.perf_counter() - started
    outcomes = Counter(f"{code} {what}" for code, what, _ in results)
    admitted = [latency for code, _, latency in results if code == 202]
    typer.echo(
        f"layer 1+2  answered {buyers} requests in {burst_s:.2f} s ({buyers / burst_s:,.0f}/s)"
    )
    for outcome, count in outcomes.most_common():
        typer.echo(f"           {count:6d} x {outcome}")
    typer.echo(
        f"           order tokens: p50 {_pct(admitted, 0.5):.1f} ms, p99 {_pct(admitted, 0.99):.1f} ms"
    )

    engine = make_engine(infra.database_url)
    deadline, rows = time.monotonic() + 60, 0
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT count(*) FROM orders WHERE sale_id = :s"), {"s": sale_id}
            ).scalar_one()
        if rows >= len(admitted):
            break
        time.sleep(0.2)
    drained_s = time.perf_counter() - started
    typer.echo(f"layer 3+4  {rows} orders in PostgreSQL {drained_s:.2f} s after the first request")
    maildir = Path(env.get("FLASHSALE_MAILDIR", ROOT / ".run/mail")) / "new"
    mails, deadline = 0, time.monotonic() + 30
    while mails < len(admitted) and time.monotonic() < deadline:
        time.sleep(0.5)
        mails = (
            sum(1 for f in maildir.glob("*") if sale_id in f.read_text(errors="replace"))
            if maildir.exists()
            else 0
        )
    typer.echo(f"           {mails} confirmation emails in {maildir}")
    report = check_pipeline(infra, sale_id)
    typer.echo(f"flashsale check --sale {sale_id}:")
    for check in report.checks:
        typer.echo(f"           {'ok      ' if check.ok else 'VIOLATED'} {check.name}")
        if not check.ok:
            typer.echo(f"             {check.violations[:5]}")
    if not report.ok or rows != len(admitted):
        raise typer.Exit(1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    typer.run(main)
