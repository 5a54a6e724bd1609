"""The services of the fault stack as real processes (`python -m <service>`, as `make up`
runs them), each in a process group of its own, its log under the stack's run dir.

A process group per service: the inventory pool's workers share their supervisor's group,
so the teardown reaches them with one killpg even after a fault killed the supervisor."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.stack import wait_http

# name -> the `python -m` arguments. The inventory consumer runs as its pool supervisor,
# which restarts a worker that died (fault 1 kills the workers, not the supervisor).
COMMANDS: dict[str, list[str]] = {
    "mailsink": ["aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l"],
    "order_service": ["order_service"],
    "gateway": ["gateway"],
    "inventory_consumer": ["inventory_consumer.pool"],
    "notification_consumer": ["notification_consumer"],
}


@dataclass
class Services:
    env: dict[str, str]
    log_dir: Path
    health: dict[str, str]  # name -> its /healthz URL, for those with one
    smtp_port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)

    def start(self, name: str, **extra_env: str) -> None:
        """Start `name` (again), with `extra_env` on top of the stack's env from now on."""
        self.overrides[name] = extra_env
        argv = [sys.executable, "-m", *COMMANDS[name]]
        if name == "mailsink":
            argv.append(f"127.0.0.1:{self.smtp_port}")
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (the process owns it)
        self.processes[name] = subprocess.Popen(
            argv, env={**self.env, **extra_env}, stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        if name in self.health:
            wait_http(self.health[name], self.processes[name])

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def workers(self, name: str = "inventory_consumer") -> list[int]:
        """A supervisor's worker processes (its children): the inventory pool's, or the
        order service's replicas on its one port (FLASHSALE_WORKERS)."""
        pool = self.pid(name)
        children = Path(f"/proc/{pool}/task/{pool}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []

    def kill(self, name: str) -> None:
        """SIGKILL to the whole group (the pool's workers too): no shutdown hook runs, as
        when a machine dies."""
        process = self.processes[name]
        _signal_group(process.pid, signal.SIGKILL)
        process.wait(10)

    def restart(self, name: str, hard: bool = True, **extra_env: str) -> None:
        if hard:
            self.kill(name)
        else:
            self.terminate(name)
        self.start(name, **(extra_env or self.overrides.get(name, {})))

    def terminate(self, name: str, grace_s: float = 20) -> None:
        """SIGTERM and wait; the whole group is SIGKILLed if it outlives the grace."""
        process = self.processes[name]
        _signal_group(process.pid, signal.SIGCONT)  # a paused process cannot act on SIGTERM
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        _signal_group(process.pid, signal.SIGKILL)  # workers left behind, if any

    def pause(self, name: str, seconds: float) -> None:
        """SIGSTOP the whole group (a GC pause, a frozen VM), then SIGCONT."""
        pid = self.pid(name)
        _signal_group(pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            _signal_group(pid, signal.SIGCONT)

    def stop_all(self) -> None:
        """All at once (SIGTERM to each, then the waits): a stop costs the slowest one."""
        for process in self.processes.values():
            _signal_group(process.pid, signal.SIGCONT)
            process.terminate()
        for name in self.processes:
            self.terminate(name, grace_s=15)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is gone: nothing to signal
        os.killpg(pgid, sig)
