"""A Kafka cluster of a test's own, started by the same scripts as `make infra-up`, on ports
that the shared infra does not use. Fault tests stop and kill its brokers freely."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.infra import ROOT

KAFKA_SH = ROOT / "infra/local/kafka.sh"


@dataclass
class DedicatedKafka:
    run_dir: Path
    port: int
    brokers: int

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "FLASHSALE_RUN_DIR": str(self.run_dir),
            "FLASHSALE_KAFKA_PORT": str(self.port),
            "FLASHSALE_KAFKA_LIB": str(ROOT / ".run/kafka/lib"),
            "FLASHSALE_KAFKA_HEAP": "384m",
            "KAFKA_BROKERS": str(self.brokers),
        }

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.port + 2 * i}" for i in range(self.brokers))

    def script(self, action: str) -> None:
        subprocess.run(["bash", str(KAFKA_SH), action], env=self.env, check=True, timeout=180)

    def kill_broker(self, node: int) -> None:
        """SIGKILL one broker: no controlled shutdown, as a crashed machine would."""
        pidfile = self.run_dir / "pids" / f"kafka-{node}.pid"
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
        pidfile.unlink()


@contextmanager
def dedicated_kafka(port: int, brokers: int = 1) -> Iterator[DedicatedKafka]:
    with tempfile.TemporaryDirectory(prefix="flashsale-kafka-") as tmp:
        cluster = DedicatedKafka(Path(tmp), port, brokers)
        try:
            cluster.script("up")  # inside the try: a half-started cluster is stopped too
            yield cluster
        finally:
            cluster.script("down")
