"""The measuring tools of `make bench`: a server pinned to one core, wrk pinned to the
other, and a row of results per path. Status codes are counted, so a 429 row is made of
429s and not of errors."""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

__all__ = ["Case", "Row", "interleaved_rounds", "row", "server", "table", "unique_users", "wrk"]

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 5
# The cheap paths are measured in interleaved rounds; a row's ratio is the median of its
# per-round ratios to the hello of the same round: on a shared 2-core box a neighbour's
# burst then skews one round, not one row.
ROUNDS, ROUND_SECONDS = 5, 3  # 5 rounds: a median that one noisy round cannot move
CONNECTIONS = 50
WRK_CPU, SERVER_CPU = "0", "1"
BODY = '{"user_id":"bench-user","quantity":1}'

# Counts every status code wrk saw (a 429 row must be made of 429s, not of errors).
STATUS_LUA = """
wrk.method = "POST"
wrk.body = '__BODY__'
wrk.headers["Content-Type"] = "application/json"
counts = {}  -- global: done() reads it from each thread
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {} end
function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("counts")) do io.write(string.format("STATUS %d %d\\n", status, n)) end
  end
end
""".replace("__BODY__", BODY)
# A fresh user id on every request: every request runs the whole admission path.
UNIQUE_USER_LUA = STATUS_LUA.replace(
    "function response",
    'local n = 0\nlocal prefix = "__PREFIX__-__RUN__-" .. tostring(math.random(1, 1e9)) .. "-"\n'
    "function request()\n  n = n + 1\n"
    '  return wrk.format(nil, nil, nil, \'{"user_id":"\' .. prefix .. n .. \'","quantity":1}\')\n'
    "end\nfunction response",
)


@dataclass
class Row:
    name: str
    rps: float
    ratio: float | None
    expected_share: float  # share of answers with the status this row is about
    p50_ms: float
    p99_ms: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(
    factory: str, env: dict[str, str], workers: int = 1, cpus: str = SERVER_CPU
) -> Iterator[str]:
    """Run an app factory on `cpus` under the services' own server (loadtests/serve.py)."""
    port = free_port()
    cmd = ["taskset", "-c", cpus, sys.executable, "-m", "loadtests.serve", factory]
    cmd += [str(port), str(workers)]
    process = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT)  # noqa: S603
    try:
        _wait_listening(port, process, factory)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(15)


def _wait_listening(port: int, process: subprocess.Popen[bytes], target: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{target} did not start") from None
            time.sleep(0.1)


def wrk(
    url: str, script: str, seconds: int = SECONDS, connections: int = CONNECTIONS
) -> tuple[float, dict[int, int], float, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        # wrk's Lua seeds math.random the same way every run: a fresh token per run keeps
        # the users of one run apart from the users of the last (else: already purchased).
        file.write(script.replace("__RUN__", uuid.uuid4().hex[:12]))
    cmd = ["taskset", "-c", WRK_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    out = subprocess.run(  # noqa: S603
        [*cmd, "--latency", "-s", file.name, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    os.unlink(file.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    statuses = {int(s): int(n) for s, n in re.findall(r"STATUS (\d+) (\d+)", out)}
    return rps, statuses, _percentile(out, "50"), _percentile(out, "99")


def _percentile(out: str, pct: str) -> float:
    value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def row(
    name: str,
    url: str,
    script: str,
    expected: int,
    seconds: int = SECONDS,
    connections: int = CONNECTIONS,
) -> Row:
    rps, statuses, p50, p99 = wrk(url, script, seconds, connections)
    share = statuses.get(expected, 0) / max(1, sum(statuses.values()))
    return Row(name, rps, None, share, p50, p99)


def unique_users(prefix: str) -> str:
    """The wrk script that sends a fresh user id on every request."""
    return UNIQUE_USER_LUA.replace("__PREFIX__", prefix)


class Case(NamedTuple):
    name: str
    url: str
    expected: int  # the status this row is about
    script: str = STATUS_LUA  # unique_users(...) for a fresh user per request
    connections: int = CONNECTIONS


def interleaved_rounds(cases: list[Case]) -> list[Row]:
    """The first case is the yardstick: every round measures each case once."""
    rounds: dict[str, list[Row]] = {case.name: [] for case in cases}
    ratios: dict[str, list[float]] = {case.name: [] for case in cases}
    for _ in range(ROUNDS):
        for name, url, expected, script, connections in cases:
            rounds[name].append(row(name, url, script, expected, ROUND_SECONDS, connections))
        hello = rounds[cases[0].name][-1].rps
        for name in rounds:
            ratios[name].append(rounds[name][-1].rps / hello)
    rows = []
    for name, measured in rounds.items():
        middle = sorted(measured, key=lambda r: r.rps)[len(measured) // 2]
        middle.ratio = statistics.median(ratios[name])
        middle.expected_share = min(r.expected_share for r in measured)
        rows.append(middle)
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        f"{'path':<30} {'req/s':>9} {'x hello':>8} {'expected':>9} {'p50 ms':>8} {'p99 ms':>8}"
    ]
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
        lines.append(
            f"{r.name:<30} {r.rps:>9.0f} {ratio:>8} {r.expected_share:>8.1%} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f}"
        )
    return "\n".join(lines)
