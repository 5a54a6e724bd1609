"""Claims 1 and 2: the coupled checkout against the pipeline, under the same fixed load.

1. User-facing latency: the coupled checkout calls inventory, payment and logistics
   (200 + 500 + 300 ms stubs) before it writes the DB and answers; the pipeline's order
   service answers once Redis admitted the order and Kafka acknowledged it.
2. Decoupling: with the payment stub down (connection refused), the coupled checkout
   fails its buyers; the pipeline never calls payment in the request, so it still answers
   202 (payment happens later, asynchronously, per order).

Both run under the same offered load (`claims_load.offer`: RATE requests/s for SECONDS),
every server pinned to one core as in the rest of the bench.
"""

from __future__ import annotations

import asyncio
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from flashsale.contracts import CreateSale
from flashsale.db import make_engine
from flashsale.db.sales import insert_sale
from flashsale.settings import InfraSettings
from flashsale.stock import load_sale
from loadtests import bench_http, wrk
from loadtests.bench_results import result
from loadtests.claims_load import Offered, offer

__all__ = ["PIPELINE", "db_sale", "run"]

RATE, SECONDS = 50.0, 6.0
PIPELINE = "pipeline: order service admission (202)"
COUPLED = "coupled checkout: 3 HTTP calls + DB (201)"


def db_sale(infra: InfraSettings, stock: int = 10_000_000) -> str:
    """A sale in PostgreSQL only: what the synchronous checkouts sell from."""
    sale_id, now = f"bench-sync-{uuid.uuid4().hex[:8]}", datetime.now(UTC)
    sale = CreateSale(
        sale_id=sale_id,
        name="sync baseline",
        stock=stock,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )
    with make_engine(infra.database_url).begin() as conn:
        insert_sale(conn, sale)
    return sale_id


async def _redis_sale(infra: InfraSettings, sale_id: str) -> None:
    redis, now = Redis.from_url(infra.redis_url), datetime.now(UTC)
    await load_sale(
        redis, sale_id, 10_000_000, now - timedelta(minutes=1), now + timedelta(hours=1), 1
    )
    await redis.aclose()


def run(infra: InfraSettings) -> list[dict[str, Any]]:
    db_sale_id, redis_sale_id = db_sale(infra), f"bench-claims-{uuid.uuid4().hex[:8]}"
    asyncio.run(_redis_sale(infra, redis_sale_id))
    try:
        with bench_http.bench_topic(infra) as topic, ExitStack() as servers:
            urls = _start(servers, infra, topic)
            return _measure(
                urls, f"/api/sales/{db_sale_id}/orders", f"/api/sales/{redis_sale_id}/orders"
            )
    finally:
        asyncio.run(bench_http.cleanup(infra, redis_sale_id))


def _start(stack: ExitStack, infra: InfraSettings, topic: str) -> dict[str, str]:
    stubs = stack.enter_context(wrk.server("loadtests.stubs:create_app", {}))
    db = {"FLASHSALE_DATABASE_URL": infra.database_url}
    up = {
        f"FLASHSALE_BENCH_{n.upper()}_URL": f"{stubs}/{n}"
        for n in ("inventory", "payment", "logistics")
    }
    # Nothing listens on a fresh free port: the payment service is down (connection refused).
    down = {**up, "FLASHSALE_BENCH_PAYMENT_URL": f"http://127.0.0.1:{wrk.free_port()}/payment"}
    coupled = "loadtests.baseline_sync:create_coupled_app"
    order = "order_service.app:create_app"
    return {
        "order": stack.enter_context(wrk.server(order, bench_http.order_env(infra, topic))),
        "coupled": stack.enter_context(wrk.server(coupled, {**db, **up})),
        "coupled_down": stack.enter_context(wrk.server(coupled, {**db, **down})),
    }


def _measure(urls: dict[str, str], db_path: str, redis_path: str) -> list[dict[str, Any]]:
    offer(urls["order"] + redis_path, 20, 1, "warm")  # Kafka connection, script load
    pipeline = offer(urls["order"] + redis_path, RATE, SECONDS, f"p-{uuid.uuid4().hex[:6]}")
    coupled = offer(urls["coupled"] + db_path, RATE, SECONDS, f"c-{uuid.uuid4().hex[:6]}")
    pipeline_down = offer(urls["order"] + redis_path, RATE, SECONDS, f"pd-{uuid.uuid4().hex[:6]}")
    coupled_down = offer(
        urls["coupled_down"] + db_path, RATE, SECONDS, f"cd-{uuid.uuid4().hex[:6]}"
    )
    load = {"offered_rps": RATE, "seconds": SECONDS}
    return [
        _row(PIPELINE, pipeline, 202, 1.0, "p50", load),
        _row(COUPLED, coupled, 201, coupled.p50_ms / max(pipeline.p50_ms, 1e-9), "p50", load),
        _row("payment down: pipeline (202)", pipeline_down, 202, 1.0, "success_rate", load),
        _row(
            "payment down: coupled checkout (201)",
            coupled_down,
            201,
            coupled_down.success_rate(201) / max(pipeline_down.success_rate(202), 1e-9),
            "success_rate",
            {**load, "baseline": "payment down: pipeline (202)"},
        ),
    ]


def _row(
    name: str, got: Offered, ok: int, ratio: float, of: str, extra: dict[str, Any]
) -> dict[str, Any]:
    extra = {"baseline": PIPELINE, **extra}
    return result(
        name,
        got.answered_rps,
        got.p50_ms,
        got.p99_ms,
        ratio,
        ratio_of=of,
        success_rate=got.success_rate(ok),
        statuses={str(k): v for k, v in sorted(got.statuses.items())},
        **extra,
    )
