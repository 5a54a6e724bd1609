"""The capacity table: what it takes to serve 100K and 1M offered requests a second for a
sale of 10,000 units, derived from one `make bench` run's per-core figures.

The model, stated so that every cell can be checked by hand:

- every offered request reaches a gateway process, and most are refused there at the
  cost of the "gateway 429 path" row (after the sell-out: "sold out, gateway edge");
- the gateway's global bucket forwards F = offered / 10 a second to the order service
  (the rest get a 429), each forwarded request costing the gateway one "sold out,
  forwarded by gateway" row's work on top;
- each forwarded request costs the order service one "admission" row's work;
- Redis runs reserve.lua F times a second, at the "redis EVALSHA reserve.lua" row's rate
  per core; past one core, one sale's stock must be split over several keys (shards);
- the 10,000 orders are written by inventory consumers at the "inventory consumer,
  batch 500" row's rate each, within DRAIN_S seconds; one partition per consumer at
  least, and never fewer than the topic's 12.

Each figure is a single process on one core of this machine; processes are rounded up.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["UNITS", "capacity_rows", "render_capacity"]

UNITS = 10_000
OFFERED = (100_000, 1_000_000)
FORWARDED_SHARE = 0.1
DRAIN_S = 10
MIN_PARTITIONS = 12
ROWS = {
    "refuse": "gateway 429 path",
    "forward": "sold out, forwarded by gateway",
    "admit": "admission (Redis+Kafka ack)",
    "script": "redis EVALSHA reserve.lua",
    "write": "inventory consumer, batch 500",
}


def capacity_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rate = {key: _rate(results, name) for key, name in ROWS.items()}
    rows = []
    for offered in OFFERED:
        forwarded = offered * FORWARDED_SHARE
        gateway = offered / rate["refuse"] + forwarded / rate["forward"]
        consumers = math.ceil(UNITS / DRAIN_S / rate["write"])
        rows.append(
            {
                "offered": offered,
                "forwarded": forwarded,
                "gateway": math.ceil(gateway),
                "order_service": math.ceil(forwarded / rate["admit"]),
                "redis_cores": math.ceil(forwarded / rate["script"]),
                "consumers": consumers,
                "partitions": max(consumers, MIN_PARTITIONS),
                "sell_out_s": UNITS / forwarded,
            }
        )
    return rows


def _rate(results: list[dict[str, Any]], name: str) -> float:
    found = next((row for row in results if row["name"] == name), None)
    if found is None or not found.get("rps"):
        raise KeyError(f"the capacity table needs the bench row {name!r}: run `make bench`")
    return float(found["rps"])


def render_capacity(results: list[dict[str, Any]]) -> str:
    per_core = ", ".join(f"{name} {_rate(results, name):,.0f}/s" for name in ROWS.values())
    lines = [
        "| offered req/s | forwarded (F) | gateway processes | order-service processes"
        " | Redis cores (reserve.lua) | consumers | partitions | sold out after |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in capacity_rows(results):
        lines.append(
            f"| {row['offered']:,} | {row['forwarded']:,.0f} | {row['gateway']} "
            f"| {row['order_service']} | {row['redis_cores']} | {row['consumers']} "
            f"| {row['partitions']} | {row['sell_out_s']:.1f} s |"
        )
    lines.append(f"\nPer-core figures of this run: {per_core}.")
    return "\n".join(lines)
