"""The audit after a fault: wait for the pipeline to drain (bounded), then check every 202
token the clients received against PostgreSQL, and run `flashsale check` on the stack.

Every violation is counted, never only the first: a fault that loses 3 orders and
oversells one sale says so in one record.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine, bindparam, text

from flashsale.check_pipeline import check_pipeline
from flashsale.db import make_engine
from flashsale.lag import partition_lag, total_lag
from flashsale.settings import InfraSettings
from tests.faults.load import LoadResult
from tests.faults.stack import INVENTORY_GROUP, ORDERS_TOPIC, FaultStack

ORDERS = text(
    "SELECT order_id::text AS order_id, sale_id, user_id, status FROM orders"
    " WHERE sale_id IN :sales"
).bindparams(bindparam("sales", expanding=True))
LIVE = {"CREATED", "PAID"}


@dataclass
class Audit:
    tokens: int = 0
    orders: int = 0  # rows of the run's sales in PostgreSQL
    found: int = 0  # tokens with their row
    failed: int = 0  # rows FAILED or CANCELLED (their stock is checked by flashsale check)
    # Rows whose id no client was told (neither a 202 nor an already_purchased naming it).
    untokened: int = 0
    # The live ones among them, with what their buyer's attempts were told.
    untokened_live: list[str] = field(default_factory=list)
    drained_after_s: float | None = None  # from the audit's start
    drained_at: float | None = None  # time.monotonic() when it had drained
    violations: list[str] = field(default_factory=list)


def lag(stack: FaultStack) -> int | None:
    try:
        return total_lag(partition_lag(stack.stores.kafka.bootstrap, INVENTORY_GROUP, ORDERS_TOPIC))
    except Exception:  # a broker or the group is down mid-fault: unknown for now
        return None


def wait_drained(stack: FaultStack, load: LoadResult, within_s: float) -> float | None:
    """Seconds until the group's lag was 0 and every token had its row (None: not within)."""
    started, engine = time.monotonic(), make_engine(stack.env["FLASHSALE_DATABASE_URL"])
    wanted = {t.order_id for t in load.tokens}
    try:
        while time.monotonic() - started < within_s:
            if lag(stack) == 0 and wanted <= {r["order_id"] for r in _rows(engine, load)}:
                return time.monotonic() - started
            time.sleep(0.5)
        return None
    finally:
        engine.dispose()


def audit(stack: FaultStack, load: LoadResult, stock: dict[str, int], drain_s: float) -> Audit:
    result = Audit(tokens=len(load.tokens))
    started = time.monotonic()
    result.drained_after_s = wait_drained(stack, load, drain_s)
    if result.drained_after_s is not None:
        result.drained_at = started + result.drained_after_s
    else:
        result.violations.append(f"not drained within {drain_s:.0f} s")
    engine = make_engine(stack.env["FLASHSALE_DATABASE_URL"])
    try:
        rows = _rows(engine, load, list(stock))
    finally:
        engine.dispose()
    _check_tokens(load, rows, result)
    _check_sales(rows, stock, result)
    result.violations += flashsale_check(stack, list(stock))
    return result


def _rows(engine: Engine, load: LoadResult, sales: list[str] | None = None) -> list[dict[str, str]]:
    sales = sales or sorted({t.sale_id for t in load.tokens}) or ["-"]
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(ORDERS, {"sales": sales})]


def _check_tokens(load: LoadResult, rows: list[dict[str, str]], result: Audit) -> None:
    by_id = {r["order_id"]: r for r in rows}
    issued = Counter(t.order_id for t in load.tokens)
    result.violations += [f"order {o} handed to {n} attempts" for o, n in issued.items() if n > 1]
    for token in load.tokens:
        row = by_id.get(token.order_id)
        if row is None:
            result.violations.append(f"token lost: order {token.order_id} of {token.user}")
        elif (row["user_id"], row["sale_id"]) != (token.user, token.sale_id):
            result.violations.append(f"token {token.order_id} is another buyer's order: {row}")
    for token in load.learnt:
        row = by_id.get(token.order_id)
        if row is None or row["user_id"] != token.user:
            result.violations.append(f"already_purchased names {token.order_id}: no such order")
    known = issued.keys() | {t.order_id for t in load.learnt}
    result.found = sum(1 for o in issued if o in by_id)
    result.orders, result.untokened = len(rows), len(by_id.keys() - known)
    result.failed = sum(1 for r in rows if r["status"] not in LIVE)
    lost_answers = [r for r in rows if r["order_id"] not in known and r["status"] in LIVE]
    result.untokened_live = [
        f"{r['order_id']} of {r['user_id']} ({r['status']}), told {load.finals_of.get(r['user_id'])}"
        for r in lost_answers
    ]


def _check_sales(rows: list[dict[str, str]], stock: dict[str, int], result: Audit) -> None:
    live = [r for r in rows if r["status"] in LIVE]
    per_sale = Counter(r["sale_id"] for r in live)
    result.violations += [
        f"oversold {sale}: {n} live orders for {stock[sale]} units"
        for sale, n in per_sale.items()
        if n > stock[sale]
    ]
    per_user = Counter((r["sale_id"], r["user_id"]) for r in live)
    result.violations += [
        f"{u} holds {n} live orders in {s}" for (s, u), n in per_user.items() if n > 1
    ]


def flashsale_check(stack: FaultStack, sales: list[str]) -> list[str]:
    """What `flashsale check --sale S` runs after its drain (the same check_pipeline, in
    process: a CLI start per sale costs a second each): stock balances, one live order per
    user, the per-user limit, Redis against PostgreSQL, the outbox, the DLQ."""
    settings = InfraSettings(
        kafka_bootstrap=stack.env["FLASHSALE_KAFKA_BOOTSTRAP"],
        redis_url=stack.env["FLASHSALE_REDIS_URL"],
        database_url=stack.env["FLASHSALE_DATABASE_URL"],
    )
    return [
        f"flashsale check {check.name}: {violation}"
        for sale in sales
        for check in check_pipeline(settings, sale).checks
        for violation in check.violations
    ]
