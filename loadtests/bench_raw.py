"""The raw limits of the stores, measured with their own C load generators.

- Redis: EVALSHA of the real reserve.lua with redis-benchmark (one fresh user per call,
  then 10 per call, as batches carry them), next to a plain INCR: the ceiling of one
  Redis core for the admission script.
- PostgreSQL: pgbench, one order insert + stock update per transaction (what a naive
  synchronous checkout does) against the same in batches of 100 rows per transaction
  (what the inventory consumer does). Both into a bare table: the database's ceiling.
  Beside the consumer, also its own rows in pgbench: 500 orders per transaction into the
  migrated schema (its indexes, foreign key and checks), each with its outbox event, and
  the stock update. That is the ceiling of the consumer's SQL with no Python at all.

Each row is a rate; `bench.py` prints them beside the pipeline's own numbers.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from flashsale.db import upgrade
from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys
from inventory_consumer.adapters.sql import CREATED_EVENT_JSON

__all__ = [
    "PG_BATCH",
    "PG_CONSUMER_ROWS",
    "PG_CONSUMER_ROWS_2",
    "Row",
    "pg_batch_rows",
    "pg_rows",
    "redis_rows",
    "run",
]

SECONDS = 5
PER_CALL = 10  # purchases per reserve.lua call in the batched row
PG_BATCH = "pg 100 orders/txn (4 clients)"
PG_CONSUMER_ROWS = "pg 500 orders/txn, the consumer's rows (1 client)"
PG_CONSUMER_ROWS_2 = "pg 500 orders/txn, the consumer's rows (2 clients)"
RESERVE = Path(__file__).resolve().parent.parent / "order_service" / "adapters" / "reserve.lua"


@dataclass
class Row:
    name: str
    rate: float
    unit: str
    note: str = ""


def _run(cmd: list[str]) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120).stdout  # noqa: S603


def _pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(found[-1]) if found else (shutil.which(name) or name)


def redis_rows(settings: InfraSettings) -> list[Row]:
    """EVALSHA of the real reserve.lua, one random user (and order id) per call."""
    url = urlparse(settings.redis_url)
    address = ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 6379)]
    cli, bench = ["redis-cli", *address], ["redis-benchmark", *address, "-q"]
    keys = SaleKeys(f"bench-raw-{int(time.time())}")
    now_ms = int(time.time() * 1000)
    _load_sale(cli, keys, now_ms)
    sha = _run([*cli, "SCRIPT", "LOAD", RESERVE.read_text()]).strip()
    sale_keys = [keys.meta, keys.stock, keys.buyers, keys.pending, keys.pending_at]
    args = ["user:__rand_int__", "1", "order:__rand_int__", str(now_ms), '{"bench":1}']
    reserve = ["EVALSHA", sha, "5", *sale_keys, keys.sale_id, *args]
    # As the order service sends them under load: several purchases of a sale per call.
    batched = [*reserve, *args * (PER_CALL - 1)]
    rows = []
    for label, command, per_call in (
        ("redis INCR (no script)", ["INCR", keys.stock], 1),
        ("redis EVALSHA reserve.lua", reserve, 1),
        (f"redis reserve.lua, {PER_CALL} purchases/call", batched, PER_CALL),
    ):
        out = _run([*bench, "-c", "50", "-n", "200000", "-r", "1000000000", *command])
        unit = "ops/s" if per_call == 1 else "purchases/s"
        rows.append(Row(label, _rps(out) * per_call, unit, "redis-benchmark, 50 conns"))
    _run([*cli, "DEL", *keys.all()])
    return rows


def _load_sale(cli: list[str], keys: SaleKeys, now_ms: int) -> None:
    window = ["starts_at_ms", str(now_ms - 60_000), "ends_at_ms", str(now_ms + 3_600_000)]
    limits = ["per_user_limit", "1", "total_stock", "100000000"]
    _run([*cli, "HSET", keys.meta, *window, *limits])
    _run([*cli, "SET", keys.stock, "100000000"])


def _rps(output: str) -> float:
    match = re.search(r"([\d.]+) requests per second", output)
    return float(match.group(1)) if match else 0.0


SINGLE = """\\set u random(1, 1000000000)
BEGIN;
INSERT INTO bench_orders (order_id, sale_id, user_id, quantity) VALUES (gen_random_uuid(), 'bench', 'u' || :u, 1);
UPDATE bench_sales SET remaining = remaining - 1 WHERE sale_id = 'bench';
COMMIT;
"""
BATCH = """BEGIN;
INSERT INTO bench_orders (order_id, sale_id, user_id, quantity)
  SELECT gen_random_uuid(), 'bench', 'u' || g, 1 FROM generate_series(1, 100) g;
UPDATE bench_sales SET remaining = remaining - 100 WHERE sale_id = 'bench';
COMMIT;
"""
# The inventory consumer's batch, in SQL alone: its statement (inventory_consumer/adapters/
# sql.py) inserts the orders (the same ON CONFLICT) and one OrderCreated outbox row per
# created order (the consumer's own payload expression); then the stock UPDATE. The users
# are fresh (one live order per user and sale); the ids are UUIDv7, from the migrated
# flashsale_uuid7(), as the services'.
CONSUMER_ROWS = f"""BEGIN;
WITH created AS (
  INSERT INTO orders (order_id, sale_id, user_id, quantity, status, placed_at, expires_at)
  SELECT flashsale_uuid7(), 'bench', 'u-' || gen_random_uuid(), 1, 'CREATED', now(),
         now() + interval '10 minutes'
  FROM generate_series(1, 500)
  ON CONFLICT DO NOTHING
  RETURNING order_id, sale_id, user_id, quantity, expires_at
), events AS (
  INSERT INTO outbox (event_id, topic, key, event_type, payload)
  SELECT c.event_id, 'flashsale.order-events', c.order_id::text, 'OrderCreated',
         {CREATED_EVENT_JSON}
  FROM (SELECT *, flashsale_uuid7() AS event_id FROM created) c
)
SELECT order_id, sale_id, quantity FROM created;
UPDATE sales SET remaining_stock = remaining_stock - 500 WHERE sale_id = 'bench';
COMMIT;
"""  # noqa: S608 (constants only)
CONSUMER_SALE = """INSERT INTO sales (sale_id, name, total_stock, remaining_stock, starts_at,
  ends_at) VALUES ('bench', 'bench', 2000000000, 2000000000, now(), now() + interval '1 day')"""
SCHEMA = """DROP TABLE IF EXISTS bench_orders, bench_sales;
CREATE TABLE bench_sales (sale_id text PRIMARY KEY, remaining bigint NOT NULL);
INSERT INTO bench_sales VALUES ('bench', 1000000000000);
CREATE TABLE bench_orders (order_id uuid PRIMARY KEY, sale_id text NOT NULL, user_id text NOT NULL,
  quantity int NOT NULL, status text NOT NULL DEFAULT 'CREATED', created_at timestamptz DEFAULT now());
"""


@contextmanager
def _bench_db(settings: InfraSettings) -> Iterator[list[str]]:
    """A scratch database with the pgbench tables; yields pgbench's connection options."""
    url = urlparse(settings.database_url.replace("+psycopg", ""))
    conn = ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432)]
    conn += ["-U", url.username or "postgres"]
    psql = [_pg_bin("psql"), *conn, "-q", "-d"]
    _run([*psql, "postgres", "-c", "DROP DATABASE IF EXISTS flashsale_bench"])
    _run([*psql, "postgres", "-c", "CREATE DATABASE flashsale_bench"])
    _run([*psql, "flashsale_bench", "-c", SCHEMA])
    try:
        yield conn
    finally:
        _run([*psql, "postgres", "-c", "DROP DATABASE IF EXISTS flashsale_bench"])


def pg_rows(settings: InfraSettings) -> list[Row]:
    with _bench_db(settings) as conn:
        return [
            _pgbench(conn, "pg 1 order/txn (4 clients)", SINGLE, 1),
            _pgbench(conn, PG_BATCH, BATCH, 100),
        ]


def pg_batch_rows(settings: InfraSettings, suffix: str) -> list[Row]:
    """The 100-row transactions with 4 clients (the figure the consumer is held to) and
    with 1 client, the like of one consumer process on one connection; then the
    consumer's own rows into the real schema, on 1 connection and on 2 (the pool's two
    processes: the ceiling of the consumer's SQL on this machine's cores)."""
    with _bench_db(settings) as conn:
        upgrade(_bench_url(settings))
        _psql(conn, CONSUMER_SALE)
        return [
            _pgbench(conn, f"{PG_BATCH}{suffix}", BATCH, 100),
            _pgbench(conn, f"pg 100 orders/txn (1 client){suffix}", BATCH, 100, clients=1),
            _pgbench(conn, f"{PG_CONSUMER_ROWS}{suffix}", CONSUMER_ROWS, 500, clients=1),
            _pgbench(conn, f"{PG_CONSUMER_ROWS_2}{suffix}", CONSUMER_ROWS, 500, clients=2),
        ]


def _bench_url(settings: InfraSettings) -> str:
    return urlparse(settings.database_url)._replace(path="/flashsale_bench").geturl()


def _psql(conn: list[str], sql: str) -> None:
    _run([_pg_bin("psql"), *conn, "-q", "-d", "flashsale_bench", "-c", sql])


def _pgbench(conn: list[str], label: str, body: str, per_tx: int, clients: int = 4) -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "s.sql"
        script.write_text(body)
        load = ["-n", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(SECONDS)]
        out = _run([_pg_bin("pgbench"), *conn, *load, "-f", str(script), "flashsale_bench"])
    match = re.search(r"tps = ([\d.]+)", out)
    tps = float(match.group(1)) if match else 0.0
    return Row(label, tps * per_tx, "orders/s", f"{tps:.0f} txn/s")


def run(settings: InfraSettings | None = None) -> list[Row]:
    settings = settings or InfraSettings()
    return redis_rows(settings) + pg_rows(settings)


if __name__ == "__main__":
    for row in run():
        print(f"{row.name:40s} {row.rate:>12,.0f} {row.unit:9s} {row.note}")
