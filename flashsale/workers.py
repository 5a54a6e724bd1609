"""N worker processes behind one listening socket: how an edge uses more than one core.

One Python process runs on one core at a time (the GIL), so an HTTP service that must
use N cores runs N processes. The parent binds the port once and forks the workers
(fork, not spawn: nothing is pickled, and no thread or event loop exists yet in the
parent); each worker runs its own server and event loop on the shared socket, and the
kernel hands each new connection to one of them. The parent only supervises: SIGTERM
or SIGINT is passed on to every worker (each drains and stops as a single process
would), and a worker that dies on its own is replaced after a pause.

What each worker holds in memory is its own: the order service's sold-out flags
(each follows the Redis stock channel), the gateway's buckets (bootstrap gives each
worker its share of the rates). Each worker knows its index (`WORKER_INDEX_ENV`, 0 to
N-1; a replacement takes the index of the worker it replaces), so work that one process
should do for all, such as the order service's recovery loop, runs in worker 0 only.
Prometheus metrics are summed across workers through prometheus-client's multiprocess
mode: its directory is set here, before any worker imports prometheus_client
(flashsale/metrics.py `exposition`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = ["MULTIPROCESS_DIR_ENV", "WORKER_INDEX_ENV", "run_workers"]

log = logging.getLogger(__name__)
# prometheus-client's own switch: set, every metric is a file in this directory.
MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The worker's index, read by the services' settings (FLASHSALE_WORKER_INDEX).
WORKER_INDEX_ENV = "FLASHSALE_WORKER_INDEX"
RESTART_PAUSE_S = 1.0  # a worker that dies at once is not restarted in a hot loop
# After SIGTERM a worker gets this long to drain and stop; then it is killed, so that a
# stuck shutdown never leaves the supervisor (and its port) behind for ever.
STOP_GRACE_S = 30.0
POLL_S = 0.1
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}

Serve = Callable[[list[socket.socket]], None]


def run_workers(
    serve: Serve, sock: socket.socket, workers: int, grace_s: float = STOP_GRACE_S
) -> None:
    """Fork `workers` processes that each call `serve([sock])`; return once all stopped."""
    metrics_dir = tempfile.mkdtemp(prefix="flashsale-metrics-")
    os.environ[MULTIPROCESS_DIR_ENV] = metrics_dir  # inherited by every worker
    pool = _Workers(serve, sock, grace_s)
    for index in range(workers):
        pool.children[_fork(serve, sock, index)] = index
    signal.signal(signal.SIGTERM, pool.stop)
    signal.signal(signal.SIGINT, pool.stop)
    try:
        pool.supervise()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


class _Workers:
    def __init__(self, serve: Serve, sock: socket.socket, grace_s: float) -> None:
        self.serve = serve
        self.sock = sock
        self.grace_s = grace_s
        self.children: dict[int, int] = {}  # pid -> worker index
        self.stop_by: float | None = None  # set by SIGTERM: the workers' deadline

    def stop(self, signum: int, frame: FrameType | None) -> None:
        if self.stop_by is None:
            self.stop_by = time.monotonic() + self.grace_s
        for pid in self.children:
            _signal(pid, signal.SIGTERM)

    def supervise(self) -> None:
        while self.children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:  # none exited: kill the late ones once past the deadline
                self._kill_late()
                time.sleep(POLL_S)
                continue
            index = self.children.pop(pid, None)
            if self.stop_by is None and index is not None:
                self._replace(pid, status, index)

    def _kill_late(self) -> None:
        if self.stop_by is None or time.monotonic() < self.stop_by:
            return
        for pid in self.children:
            log.error("worker %d did not stop within %.0f s: killing it", pid, self.grace_s)
            _signal(pid, signal.SIGKILL)
        self.stop_by = float("inf")  # once

    def _replace(self, pid: int, status: int, index: int) -> None:
        log.warning("worker %d exited (status %d); starting another", pid, status)
        time.sleep(RESTART_PAUSE_S)
        # Signals wait while the new worker is forked and listed: a SIGTERM in between
        # would miss it, and the supervisor would wait on it for ever.
        with _signals_held():
            if self.stop_by is None:
                self.children[_fork(self.serve, self.sock, index)] = index


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _fork(serve: Serve, sock: socket.socket, index: int) -> int:
    pid = os.fork()
    if pid != 0:
        return pid
    os.environ[WORKER_INDEX_ENV] = str(index)
    # In the worker: the parent's handlers are not ours; the server installs its own.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    code = 0
    try:
        serve([sock])
    except BaseException:
        log.exception("worker %d failed", os.getpid())
        code = 1
    os._exit(code)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it exited already
        os.kill(pid, signum)
