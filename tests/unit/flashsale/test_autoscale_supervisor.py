"""The supervisor (flashsale/autoscale/supervisor.py) with fake workers, a scripted lag and
a fake clock: it starts min workers, scales on the policy's word, stops the newest worker
gracefully, restarts a dead one, and publishes its state at every poll."""

from __future__ import annotations

import threading

from confluent_kafka import KafkaError, KafkaException
from prometheus_client import CollectorRegistry, generate_latest

from flashsale.autoscale.metrics import PrometheusPoolGauges
from flashsale.autoscale.policy import ScalingPolicy
from flashsale.autoscale.supervisor import Supervisor
from flashsale.lag import PartitionLag


class FakeWorker:
    def __init__(self, number: int, pid: int) -> None:
        self.number, self._pid = number, pid
        self.code: int | None = None
        self.terminated = False

    @property
    def pid(self) -> int:
        return self._pid

    def exit_code(self) -> int | None:
        return self.code

    def terminate(self) -> None:
        self.terminated = True

    def stop(self, grace_s: float) -> int:
        self.terminate()
        self.code = 0
        return 0


class FakeLauncher:
    def __init__(self) -> None:
        self.started: list[FakeWorker] = []
        self.forgotten: list[int] = []

    def start(self, number: int) -> FakeWorker:
        worker = FakeWorker(number, pid=100 + len(self.started))
        self.started.append(worker)
        return worker

    def forget(self, pid: int) -> None:
        self.forgotten.append(pid)


class ScriptedLag:
    """Lag spread over `partitions` partitions; an exception instead raises it."""

    def __init__(self, partitions: int = 3) -> None:
        self.total: int | Exception = 0
        self.count = partitions

    def partitions(self) -> list[PartitionLag]:
        if isinstance(self.total, Exception):
            raise self.total
        share = [
            self.total // self.count + (p < self.total % self.count) for p in range(self.count)
        ]
        return [PartitionLag(p, 50, 50 + share[p]) for p in range(self.count)]


class RecordedStatus:
    def __init__(self) -> None:
        self.published: list[tuple[int | None, int]] = []

    def publish(self, lag: int | None, workers: int) -> None:
        self.published.append((lag, workers))


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


class Pool:
    def __init__(self, max_workers: int = 3, partitions: int = 3, start: bool = True) -> None:
        self.clock, self.launcher, self.lag = Clock(), FakeLauncher(), ScriptedLag(partitions)
        self.status, self.registry = RecordedStatus(), CollectorRegistry()
        self.stop = threading.Event()
        rules = ScalingPolicy(1, max_workers, 300, 30, cooldown_s=2, clock=self.clock)
        self.supervisor = Supervisor(
            policy=rules,
            launcher=self.launcher,
            lag=self.lag,
            status=self.status,
            gauges=PrometheusPoolGauges("g1", self.registry),
            stop=self.stop,
        )
        if start:
            self.supervisor.start()

    def poll(self, lag: int | Exception, after_s: float = 1.0) -> str:
        self.lag.total = lag
        self.clock.now += after_s
        return self.supervisor.poll_once().direction

    def sample(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, {"group": "g1", **labels})


def test_grows_under_lag_shrinks_after_it_and_publishes_every_poll() -> None:
    pool = Pool(max_workers=4, partitions=4)
    assert [pool.poll(0), pool.poll(400), pool.poll(2000), pool.poll(2000, after_s=2)] == [
        "hold", "up", "hold", "up"]  # fmt: skip
    assert len(pool.supervisor.workers) == 4
    assert [pool.poll(10, after_s=2), pool.poll(10), pool.poll(10, after_s=2)] == [
        "down", "hold", "down"]  # fmt: skip
    assert len(pool.supervisor.workers) == 2
    assert pool.status.published == [
        (0, 1), (400, 2), (2000, 2), (2000, 4), (10, 3), (10, 3), (10, 2)]  # fmt: skip
    assert pool.sample("flashsale_pool_scale_events_total", direction="up") == 2
    assert pool.sample("flashsale_pool_scale_events_total", direction="down") == 2
    assert pool.sample("flashsale_pool_workers") == 2
    assert pool.sample("flashsale_consumer_lag") == 10
    assert pool.sample("flashsale_consumer_lag_partition", partition="0") == 3


def test_scale_down_stops_the_newest_worker_gracefully() -> None:
    pool = Pool()
    pool.poll(1000)
    first, second, third = pool.launcher.started
    pool.poll(0, after_s=5)
    assert third.terminated and third.code == 0 and not second.terminated
    assert pool.launcher.forgotten == [third.pid]
    assert [w.number for w in pool.supervisor.workers] == [first.number, second.number]


def test_a_dead_worker_is_replaced_in_its_slot() -> None:
    pool = Pool()
    pool.poll(1000)  # 1 -> 3 workers
    pool.launcher.started[1].code = 1
    assert pool.poll(100) == "hold"
    assert len(pool.launcher.started) == 4
    assert [w.number for w in pool.supervisor.workers] == [1, 2, 3]
    assert pool.launcher.forgotten == [101]


def test_never_more_workers_than_partitions() -> None:
    pool = Pool(max_workers=8, partitions=2)
    pool.poll(1_000_000)
    assert len(pool.supervisor.workers) == 2


def test_kafka_unreachable_holds_and_publishes_no_lag() -> None:
    pool = Pool()
    pool.poll(1000)
    assert pool.poll(KafkaException(KafkaError(KafkaError._TRANSPORT)), after_s=5) == "hold"
    assert len(pool.supervisor.workers) == 3
    assert pool.status.published[-1] == (None, 3)


def test_run_starts_min_workers_without_a_scale_event_and_stops_all_at_the_end() -> None:
    pool = Pool(start=False)
    pool.status.publish = lambda lag, workers: pool.stop.set()  # type: ignore[method-assign]
    pool.supervisor.run()  # start, one poll (its publish sets stop), shutdown
    assert len(pool.launcher.started) == 1 and pool.launcher.started[0].terminated
    assert pool.supervisor.workers == []
    assert pool.sample("flashsale_pool_scale_events_total", direction="up") == 0


def test_metrics_list_every_pool_family_before_the_first_event() -> None:
    text = generate_latest(Pool().registry).decode()
    for name in ("flashsale_consumer_lag", "flashsale_consumer_lag_partition",
                 "flashsale_pool_workers", "flashsale_pool_scale_events_total"):  # fmt: skip
        assert f"# TYPE {name} " in text


def test_shutdown_stops_every_worker_and_publishes_zero() -> None:
    pool = Pool()
    pool.poll(1000)
    pool.supervisor.shutdown()
    assert all(w.terminated and w.code == 0 for w in pool.launcher.started)
    assert pool.status.published[-1] == (None, 0)
    assert pool.sample("flashsale_pool_workers") == 0
