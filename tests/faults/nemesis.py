"""The nemesis (after Jepsen's): every 10-30 s one fault picked at random from the list,
on the real processes, while the load flows. Every choice comes from one seeded Random,
so `make nemesis SEED=...` replays a failing run's faults in the same order and places.

Each fault puts back what it broke before it returns (a killed process restarted, a paused
one continued, a broker back in sync), so at most one fault is in force at a time."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from tests.faults.stack import ORDERS_TOPIC, FaultStack

PAUSE_S = 5.0  # SIGSTOP for this long: a GC pause, a frozen VM
BROKER_DOWN_S = 8.0

Fault = Callable[[FaultStack, random.Random], str]  # injects, heals; says what it did


def kill_inventory_worker(stack: FaultStack, rng: random.Random) -> str:
    workers = stack.services.workers()
    if not workers:
        return "no inventory worker to kill (the pool is restarting one)"
    pid = rng.choice(workers)
    os.kill(pid, signal.SIGKILL)  # the pool supervisor restarts it
    return f"SIGKILL inventory worker {pid}"


def pause_service(stack: FaultStack, rng: random.Random) -> str:
    name = rng.choice(["order_service", "gateway", "inventory_consumer", "notification_consumer"])
    stack.services.pause(name, PAUSE_S)
    return f"SIGSTOP {name} for {PAUSE_S:.0f} s, then SIGCONT"


def kill_service(stack: FaultStack, rng: random.Random) -> str:
    name = rng.choice(["order_service", "gateway", "notification_consumer", "inventory_consumer"])
    stack.services.restart(name, hard=True)  # the pool's workers die with their group
    return f"SIGKILL {name}, restarted"


def kill_broker(stack: FaultStack, rng: random.Random) -> str:
    node = rng.randint(1, 3)
    stack.stores.kill_broker(node)
    time.sleep(BROKER_DOWN_S)
    stack.stores.restart_brokers()
    stack.stores.wait_fully_replicated(ORDERS_TOPIC, within_s=90)
    return f"SIGKILL broker {node}, restarted after {BROKER_DOWN_S:.0f} s"


def pause_broker(stack: FaultStack, rng: random.Random) -> str:
    node = rng.randint(1, 3)
    pid = stack.stores.broker_pid(node)
    assert pid is not None, f"broker {node} has no pid file"
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(PAUSE_S)  # past broker.session.timeout.ms (3 s): it is fenced
    finally:
        os.kill(pid, signal.SIGCONT)
    stack.stores.wait_fully_replicated(ORDERS_TOPIC, within_s=90)
    return f"SIGSTOP broker {node} for {PAUSE_S:.0f} s, then SIGCONT"


def restart_redis(stack: FaultStack, rng: random.Random) -> str:
    down = rng.uniform(1, 4)
    stack.stores.restart_redis(down)
    return f"Redis down {down:.1f} s (SIGTERM, AOF kept), restarted"


def restart_postgres(stack: FaultStack, rng: random.Random) -> str:
    mode = rng.choice(["fast", "immediate"])
    stack.stores.stop_postgres(mode)
    time.sleep(rng.uniform(1, 4))
    stack.stores.start_postgres()
    return f"PostgreSQL stop -m {mode}, restarted"


def slow_kafka(stack: FaultStack, rng: random.Random) -> str:
    """Toxiproxy: every broker answers the services 500 ms late, for 5 s."""
    stack.stores.proxies.latency(500, 5.0)
    return "Kafka latency 500 ms for 5 s (Toxiproxy)"


FAULTS: list[Fault] = [
    kill_inventory_worker,
    pause_service,
    kill_service,
    kill_broker,
    pause_broker,
    restart_redis,
    restart_postgres,
    slow_kafka,
]


@dataclass(frozen=True)
class Strike:
    at_s: float  # from the start of the run
    fault: str
    took_s: float


def run_nemesis(
    stack: FaultStack, rng: random.Random, duration_s: float, faults: list[Fault] = FAULTS
) -> list[Strike]:
    """Faults every 10-30 s until `duration_s` is over; logs each one as it strikes."""
    started, strikes = time.monotonic(), list[Strike]()
    while True:
        wait = rng.uniform(10, 30)
        if time.monotonic() - started + wait >= duration_s:
            time.sleep(max(0.0, duration_s - (time.monotonic() - started)))
            return strikes
        time.sleep(wait)
        fault, at = rng.choice(faults), time.monotonic()
        what = fault(stack, rng)
        strikes.append(Strike(round(at - started, 1), what, round(time.monotonic() - at, 1)))
        print(f"nemesis +{strikes[-1].at_s:6.1f} s: {what} ({strikes[-1].took_s} s)", flush=True)
