"""run_workers on real processes: N workers on one socket, each with its index, a dead
one replaced under its index, SIGTERM passed on to all of them, and the metrics
directory set for every worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.polling import eventually

# The supervisor under test, in a process of its own (it forks and takes SIGTERM). Each
# worker writes "<pid> <metrics dir> <socket port> <index>" to a file named by its pid, then
# waits for SIGTERM like a server would, and leaves a ".stopped" file when it gets it.
SUPERVISOR = textwrap.dedent(
    """
    import os, signal, socket, sys, time
    from pathlib import Path
    from flashsale.workers import run_workers

    out = Path(sys.argv[1])

    def serve(sockets):
        stop = []
        signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
        port = sockets[0].getsockname()[1]
        metrics = os.environ["PROMETHEUS_MULTIPROC_DIR"]
        index = os.environ["FLASHSALE_WORKER_INDEX"]
        (out / str(os.getpid())).write_text(f"{os.getpid()} {metrics} {port} {index}")
        while not stop:
            time.sleep(0.05)
        (out / f"{os.getpid()}.stopped").touch()

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    if sys.argv[3:] == ["deaf"]:  # workers that ignore SIGTERM: a shutdown that hangs
        serve = lambda sockets: (signal.signal(signal.SIGTERM, signal.SIG_IGN), time.sleep(600))
    run_workers(serve, sock, int(sys.argv[2]), grace_s=1.0)
    """
)


def workers_in(out: Path) -> dict[int, list[str]]:
    return {
        int(f.name): f.read_text().split()
        for f in out.iterdir()
        if f.name.isdigit() and f.stat().st_size
    }


def test_workers_share_a_socket_are_replaced_when_they_die_and_stop_on_sigterm(
    tmp_path: Path,
) -> None:
    supervisor = subprocess.Popen([sys.executable, "-c", SUPERVISOR, str(tmp_path), "3"])
    try:
        first = eventually(lambda: (w := workers_in(tmp_path)) and len(w) == 3 and w, within_s=20)
        assert len({port for _, _, port, _ in first.values()}) == 1  # one socket for all
        assert sorted(index for *_, index in first.values()) == ["0", "1", "2"]
        metrics_dirs = {d for _, d, _, _ in first.values()}
        assert len(metrics_dirs) == 1 and Path(metrics_dirs.pop()).is_dir()
        dead = next(iter(first))
        os.kill(dead, signal.SIGKILL)
        eventually(lambda: len(workers_in(tmp_path)) == 4, within_s=20)  # a new one came
        (new,) = set(workers_in(tmp_path)) - set(first)
        assert workers_in(tmp_path)[new][3] == first[dead][3]  # in the dead one's place
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(20) == 0
        stopped = {int(f.name.split(".")[0]) for f in tmp_path.glob("*.stopped")}
        assert stopped == set(workers_in(tmp_path)) - {dead}
        assert not Path(first[dead][1]).exists()  # the metrics directory is removed
    finally:
        if supervisor.poll() is None:
            supervisor.kill()


def test_a_worker_that_does_not_stop_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    supervisor = subprocess.Popen([sys.executable, "-c", SUPERVISOR, str(tmp_path), "2", "deaf"])
    try:
        time.sleep(1.0)  # both workers ignore SIGTERM by now
        started = time.monotonic()
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(20) == 0
        assert 0.9 < time.monotonic() - started < 10  # the 1 s grace, then SIGKILL
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
