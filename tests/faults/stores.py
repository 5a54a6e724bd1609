"""The fault stack's own Kafka cluster, Redis and PostgreSQL, started and stopped by the same
scripts as `make infra-up` (infra/local/), under a run dir and on ports of their own. The
shared infra is never touched: every signal here goes to a pid read from OUR pid files."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient
from sqlalchemy import text

from flashsale.db import make_engine
from tests.faults.kafka_proxy import KafkaProxies, ProxiedKafka
from tests.infra import ROOT
from tests.net import port_is_free
from tests.polling import eventually

SCRIPTS = ROOT / "infra/local"
BROKERS = 3


def free_port_block(size: int) -> int:
    """A free PORT with PORT+1 .. PORT+size-1 free too, below the kernel's ephemeral range
    (32768 and up): a port from that range, free when picked, may be some outgoing
    connection's by the time a broker binds it (seen: a controller failed to start)."""
    rng = random.SystemRandom()
    while True:
        port = rng.randrange(20000, 32768 - size)
        block = set(range(port, port + size))
        if not block & _HANDED_OUT and all(port_is_free(p) for p in block):
            _HANDED_OUT.update(block)  # not bound yet: never hand it out twice
            return port


_HANDED_OUT: set[int] = set()


def pg_bin() -> Path:
    """The newest installed PostgreSQL server's bin/, as postgres.sh picks it."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: p.parts[-3])
    return found[-1].parent


@dataclass
class Stores:
    run_dir: Path
    kafka: ProxiedKafka
    proxies: KafkaProxies
    redis_port: int
    pg_port: int
    _pg_data: Path | None = None

    @classmethod
    def allocate(cls, run_dir: Path) -> Stores:
        # Per broker: its port, its controller's, its EXTERNAL listener's (the proxied one).
        port = free_port_block(3 * BROKERS)
        proxy_port = free_port_block(BROKERS)
        kafka = ProxiedKafka(run_dir, port, BROKERS, proxy_port)
        redis_port, pg_port, api_port = (free_port_block(1) for _ in range(3))
        proxies = KafkaProxies(kafka, run_dir, api_port)
        return cls(run_dir, kafka, proxies, redis_port, pg_port)

    @property
    def script_env(self) -> dict[str, str]:
        return {
            **self.kafka.env,
            "FLASHSALE_REDIS_PORT": str(self.redis_port),
            "FLASHSALE_PG_PORT": str(self.pg_port),
        }

    @property
    def urls(self) -> dict[str, str]:
        """For the services: Kafka through the proxies. The test's own Kafka clients (lag,
        leaders) use `kafka.bootstrap`, direct: a Kafka slowed down must not slow the audit."""
        return {
            "FLASHSALE_KAFKA_BOOTSTRAP": self.kafka.proxied_bootstrap,
            "FLASHSALE_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "FLASHSALE_DATABASE_URL": (
                f"postgresql+psycopg://flashsale@127.0.0.1:{self.pg_port}/flashsale"
            ),
        }

    def script(self, name: str, action: str) -> None:
        path = SCRIPTS / f"{name}.sh"
        subprocess.run(["bash", str(path), action], env=self.script_env, check=True, timeout=180)

    def up(self) -> None:
        """Kafka (the slowest) starts while Redis and PostgreSQL do."""
        with ThreadPoolExecutor(1) as pool:
            kafka = pool.submit(self.script, "kafka", "up")
            self.script("redis", "up")
            self.script("postgres", "up")
            kafka.result()
        self.proxies.start()
        self.data_dir()  # known while PostgreSQL answers, for the stops to come

    def down(self) -> None:
        """Every store down, whatever state a fault left it in (a stopped process first
        gets SIGCONT, or it could not act on the SIGTERM)."""
        for pidfile in (self.run_dir / "pids").glob("*.pid"):
            self._signal_pidfile(pidfile, signal.SIGCONT)
        for name in ("kafka", "redis", "postgres"):
            try:
                self.script(name, "down")
            except subprocess.SubprocessError as exc:  # go on: stop the others anyway
                print(f"{name}.sh down failed: {exc}")
        self.proxies.stop()

    # -- Kafka ------------------------------------------------------------------------
    def kill_broker(self, node: int) -> None:
        self.kafka.kill_broker(node)

    def restart_brokers(self) -> None:
        """`kafka.sh up` starts the brokers whose pid file is gone, and waits for them."""
        self.script("kafka", "up")

    def broker_pid(self, node: int) -> int | None:
        pidfile = self.run_dir / "pids" / f"kafka-{node}.pid"
        return int(pidfile.read_text()) if pidfile.exists() else None

    def leaders(self, topic: str) -> dict[int, int]:
        """partition -> the node leading it (-1: none right now)."""
        admin = AdminClient({"bootstrap.servers": self.kafka.bootstrap})
        partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: meta.leader for p, meta in partitions.items()}

    def wait_fully_replicated(self, topic: str, within_s: float = 60) -> None:
        """Every partition back to 3 in-sync replicas: the next broker may go now."""
        admin = AdminClient({"bootstrap.servers": self.kafka.bootstrap})

        def in_sync() -> bool:
            meta = admin.list_topics(topic, timeout=10).topics[topic].partitions.values()
            return all(len(p.isrs) == BROKERS and p.leader >= 0 for p in meta)

        eventually(in_sync, within_s, f"{topic} fully in sync", every_s=0.5)

    # -- Redis ------------------------------------------------------------------------
    def restart_redis(self, down_s: float) -> tuple[float, float]:
        """SIGTERM (Redis fsyncs its AOF on the way out), down for `down_s`, then the same
        `up`: it reloads the AOF. Returns when it went down and when it answered again."""
        self.script("redis", "down")
        went_down = time.monotonic()
        time.sleep(down_s)
        self.script("redis", "up")
        return went_down, time.monotonic()

    # -- PostgreSQL -------------------------------------------------------------------
    def data_dir(self) -> Path:
        """Where postgres.sh put the cluster (under the run dir, or /var/tmp when the
        postgres user cannot reach it): asked of the server itself, once."""
        if self._pg_data is None:
            engine = make_engine(self.urls["FLASHSALE_DATABASE_URL"])
            with engine.connect() as conn:
                self._pg_data = Path(conn.execute(text("SHOW data_directory")).scalar_one())
            engine.dispose()
        return self._pg_data

    def stop_postgres(self, mode: str) -> None:
        """pg_ctl stop -m fast (clients cut, clean checkpoint) or -m immediate (a crash:
        WAL replay at the next start)."""
        command = [str(pg_bin() / "pg_ctl"), "-D", str(self.data_dir()), "-m", mode, "-w"]
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        subprocess.run(
            [*as_postgres, *command, "stop"], check=True, timeout=60, capture_output=True
        )

    def start_postgres(self) -> None:
        self.script("postgres", "up")

    # -- any store --------------------------------------------------------------------
    def store_pid(self, name: str) -> int | None:
        """The pid in our pid file of `redis`, `postgres` or `kafka-N`."""
        pidfile = self.run_dir / "pids" / f"{name}.pid"
        return int(pidfile.read_text()) if pidfile.exists() else None

    @staticmethod
    def _signal_pidfile(pidfile: Path, sig: signal.Signals) -> None:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pidfile.read_text()), sig)
