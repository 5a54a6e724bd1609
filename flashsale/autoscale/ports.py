"""What the supervisor needs from the world, as Protocols: the lag, worker processes, a
place to publish its state, and its metrics. `bootstrap_pool` wires the real ones; the
unit tests pass fakes."""

from __future__ import annotations

from typing import Protocol

from flashsale.lag import PartitionLag

__all__ = ["LagReader", "Launcher", "PoolGauges", "PoolStatus", "Worker"]


class LagReader(Protocol):
    def partitions(self) -> list[PartitionLag]:
        """The group's lag per partition of its topic (raises when Kafka does not answer)."""
        ...


class Worker(Protocol):
    number: int  # the slot it fills in the pool: 1, 2, ...

    @property
    def pid(self) -> int: ...

    def exit_code(self) -> int | None:
        """None while it runs."""
        ...

    def stop(self, grace_s: float) -> int:
        """SIGTERM, wait up to `grace_s` (SIGKILL after that); the exit code."""
        ...

    def terminate(self) -> None:
        """SIGTERM and return: several workers stop in parallel at shutdown."""
        ...


class Launcher(Protocol):
    def start(self, number: int) -> Worker: ...

    def forget(self, pid: int) -> None:
        """Called once the worker `pid` has exited: drop what it left behind (metric files)."""
        ...


class PoolStatus(Protocol):
    def publish(self, lag: int | None, workers: int) -> None:
        """Share the lag (None: unknown, written nowhere) and the worker count."""
        ...


class PoolGauges(Protocol):
    def lag(self, partitions: list[PartitionLag]) -> None: ...
    def workers(self, count: int) -> None: ...
    def scaled(self, direction: str) -> None: ...
