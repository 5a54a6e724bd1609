"""Worker processes: each one a plain `python -m <consumer>` with an env of its own. It
stops the way it stops under Kubernetes or compose: SIGTERM, the batch in hand finished
and its offsets committed, exit 0."""

from __future__ import annotations

import logging
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from prometheus_client import multiprocess

from flashsale.workers import MULTIPROCESS_DIR_ENV

__all__ = ["ProcessLauncher", "WorkerProcess"]

log = logging.getLogger(__name__)


class WorkerProcess:
    def __init__(self, number: int, process: subprocess.Popen[bytes]) -> None:
        self.number = number
        self._process = process

    @property
    def pid(self) -> int:
        return self._process.pid

    def exit_code(self) -> int | None:
        return self._process.poll()

    def terminate(self) -> None:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)

    def stop(self, grace_s: float) -> int:
        self.terminate()
        try:
            return self._process.wait(grace_s)
        except subprocess.TimeoutExpired:
            # Its batch is not committed: Kafka redelivers it, the idempotent writes absorb it.
            log.error("worker %d (pid %d) ignored SIGTERM for %.0fs: SIGKILL",
                      self.number, self.pid, grace_s)  # fmt: skip
            self._process.kill()
            return self._process.wait()


class ProcessLauncher:
    """Starts `argv` with `env` (the supervisor's environment, as its caller built it). With
    `metrics_dir`, the workers write their metrics there (prometheus_client's multiprocess
    mode) and the supervisor's listener serves them all, summed."""

    def __init__(
        self, argv: Sequence[str], env: Mapping[str, str], metrics_dir: Path | None = None
    ) -> None:
        self._argv = list(argv)
        self._env = dict(env)
        self._metrics_dir = metrics_dir
        if metrics_dir is not None:
            self._env[MULTIPROCESS_DIR_ENV] = str(metrics_dir)

    def start(self, number: int) -> WorkerProcess:
        # Same process group as the supervisor: whoever kills the group kills the workers.
        process = subprocess.Popen(self._argv, env=self._env)  # noqa: S603 (our own argv)
        return WorkerProcess(number, process)

    def forget(self, pid: int) -> None:
        """Drop the live gauges of an exited worker; its counters stay in the sums."""
        if self._metrics_dir is not None:
            multiprocess.mark_process_dead(pid, str(self._metrics_dir))  # type: ignore[no-untyped-call]
