"""The supervisor: reads the lag every `poll_s`, asks the `ScalingPolicy` how many workers
to run, starts or stops worker processes to match, restarts a worker that died, and
publishes the lag and the worker count (metrics, Redis) at every poll.

Scale-down is graceful: the newest worker gets SIGTERM and the supervisor waits for it to
finish its batch and commit, so no batch is lost; its partitions move to the others. Kafka
(the consumer group) spreads the partitions; the supervisor only counts processes.
"""

from __future__ import annotations

import logging
import threading

from confluent_kafka import KafkaException

from flashsale.autoscale.policy import Decision, ScalingPolicy
from flashsale.autoscale.ports import LagReader, Launcher, PoolGauges, PoolStatus, Worker
from flashsale.lag import PartitionLag, total_lag

__all__ = ["Supervisor"]

log = logging.getLogger(__name__)


class Supervisor:
    def __init__(
        self,
        *,
        policy: ScalingPolicy,
        launcher: Launcher,
        lag: LagReader,
        status: PoolStatus,
        gauges: PoolGauges,
        stop: threading.Event,
        poll_s: float = 1.0,
        stop_grace_s: float = 30.0,
    ) -> None:
        self._policy, self._launcher, self._lag = policy, launcher, lag
        self._status, self._gauges, self._stop = status, gauges, stop
        self._poll_s, self._grace_s = poll_s, stop_grace_s
        self._partitions = policy.max_workers  # until the first read says otherwise
        self.workers: list[Worker] = []

    def run(self) -> None:
        """Poll until `stop` is set, then stop every worker (gracefully, in parallel)."""
        try:
            self.start()
            while not self._stop.is_set():
                self.poll_once()
                self._stop.wait(self._poll_s)
        finally:
            self.shutdown()

    def start(self) -> None:
        """The first min_workers workers: a start, not a scale event."""
        log.info("pool starts with %d worker(s)", self._policy.min_workers)
        self._scale_to(self._policy.min_workers)

    def poll_once(self) -> Decision:
        self._replace_dead_workers()
        partitions = self._read_lag()
        lag = None if partitions is None else total_lag(partitions)
        decision = self._policy.decide(len(self.workers), lag, self._partitions)
        if decision.direction == "hold":
            log.debug("hold at %d worker(s): %s", len(self.workers), decision.reason)
        else:
            log.info("scale %s: %d -> %d worker(s): %s", decision.direction,
                     len(self.workers), decision.workers, decision.reason)  # fmt: skip
            self._scale_to(decision.workers)
            self._gauges.scaled(decision.direction)
        self._gauges.workers(len(self.workers))
        self._status.publish(lag, len(self.workers))
        return decision

    def shutdown(self) -> None:
        for worker in self.workers:
            worker.terminate()
        while self.workers:
            self._stop_worker(self.workers.pop())
        self._gauges.workers(0)
        self._status.publish(None, 0)

    def _read_lag(self) -> list[PartitionLag] | None:
        try:
            partitions = self._lag.partitions()
        except KafkaException as error:  # Kafka unreachable: hold, keep the workers running
            log.warning("could not read the lag: %s", error)
            return None
        self._partitions = len(partitions)
        self._gauges.lag(partitions)
        return partitions

    def _scale_to(self, target: int) -> None:
        while len(self.workers) < target and not self._stop.is_set():
            self._start_worker(self._free_number())
        while len(self.workers) > target:
            self._stop_worker(self.workers.pop())  # the newest: the oldest keep their partitions

    def _replace_dead_workers(self) -> None:
        for index, worker in enumerate(self.workers):
            code = worker.exit_code()
            if code is None or self._stop.is_set():
                continue
            log.error("worker %d (pid %d) died with exit code %d: restarting it",
                      worker.number, worker.pid, code)  # fmt: skip
            self._launcher.forget(worker.pid)
            self.workers[index] = self._launch(worker.number)

    def _start_worker(self, number: int) -> None:
        self.workers.append(self._launch(number))

    def _launch(self, number: int) -> Worker:
        worker = self._launcher.start(number)
        log.info("worker %d started (pid %d)", number, worker.pid)
        return worker

    def _stop_worker(self, worker: Worker) -> None:
        code = worker.stop(self._grace_s)
        self._launcher.forget(worker.pid)
        log.info("worker %d (pid %d) stopped with exit code %d", worker.number, worker.pid, code)

    def _free_number(self) -> int:
        taken = {w.number for w in self.workers}
        return next(n for n in range(1, len(taken) + 2) if n not in taken)
