"""`make profile`: where the admission path's CPU goes, measured rather than guessed.

The order service runs as in `make bench` (one worker on CPU 1, real Redis and Kafka, a
topic of its own), wrk sends fresh buyers from CPU 0, and py-spy samples the server for
a few seconds. It writes the raw stacks to .run/profile/admission.txt (feed them to
speedscope or flamegraph.pl) and prints the frames that cost most, by self time and by
total time, as a share of the samples.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter
from contextlib import ExitStack

from flashsale.settings import InfraSettings
from loadtests import bench_http
from loadtests.wrk import ROOT, server, unique_users, wrk

__all__ = ["main", "top_frames"]

OUT = ROOT / ".run/profile/admission.txt"
SECONDS = 6
TOP = 20


def main() -> None:
    infra = InfraSettings()
    sold_out, plenty = asyncio.run(bench_http._sales(infra))
    try:
        with bench_http.bench_topic(infra) as topic, ExitStack() as stack:
            env = bench_http.order_env(infra, topic)
            url = stack.enter_context(server("order_service.app:create_app", env))
            path = url + f"/api/sales/{plenty}/orders"
            wrk(path, unique_users("warm"), seconds=1)
            spy = _record(_pid_listening(int(url.rsplit(":", 1)[1])))
            rps, statuses, p50, p99 = wrk(path, unique_users("profile"), seconds=SECONDS)
            spy.wait(30)
    finally:
        asyncio.run(bench_http.cleanup(infra, sold_out, plenty))
    print(
        f"admission under py-spy: {rps:,.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, {statuses}"
    )
    print(top_frames(OUT.read_text()))
    print(f"raw stacks: {OUT.relative_to(ROOT)}")


def _pid_listening(port: int) -> int:
    # iproute2's ss names the process listening on the port (taskset exec'd the server).
    query = ["ss", "-ltnpH", f"sport = :{port}"]
    found = subprocess.run(query, capture_output=True, text=True, check=True).stdout  # noqa: S603
    return int(found.split("pid=")[1].split(",")[0])


def _record(pid: int) -> subprocess.Popen[bytes]:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["py-spy", "record", "-p", str(pid), "-d", str(SECONDS - 1), "-r", "200"]
    cmd += ["-f", "raw", "-o", str(OUT), "--nonblocking"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


def top_frames(raw: str, top: int = TOP) -> str:
    """py-spy's raw output (one `frame;frame;... count` line per stack) as two rankings."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames, n = stack.split(";"), int(count)
        samples += n
        own[frames[-1]] += n
        total.update(dict.fromkeys(frames, n))
    lines = []
    for title, ranking in (("self", own), ("total", total)):
        lines.append(f"-- by {title} time, share of {samples} samples")
        lines += [f"{100 * n / samples:5.1f}%  {frame}" for frame, n in ranking.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
