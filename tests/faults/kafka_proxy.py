"""Toxiproxy between the fault stack's services and its brokers, so the nemesis can slow
Kafka down as well as kill it. Each broker also listens on an EXTERNAL listener that it
advertises at the proxy's address (infra/local/kafka.sh, FLASHSALE_KAFKA_PROXY_PORT): a
client that bootstraps through the proxy reaches every broker through it, while the
brokers' own replication and controller traffic stays direct."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.dedicated_kafka import DedicatedKafka
from tests.faults.toxiproxy import Proxy, Toxiproxy


@dataclass
class ProxiedKafka(DedicatedKafka):
    proxy_port: int = 0  # broker N is advertised at 127.0.0.1:(proxy_port + N-1)

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, "FLASHSALE_KAFKA_PROXY_PORT": str(self.proxy_port)}

    @property
    def proxied_bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.proxy_port + i}" for i in range(self.brokers))

    def external_listener(self, node: int) -> str:
        """Where broker `node` takes proxied connections (kafka.sh's external_port)."""
        return f"127.0.0.1:{self.port + 2 * self.brokers + node - 1}"


@dataclass
class KafkaProxies:
    cluster: ProxiedKafka
    run_dir: Path
    api_port: int
    server: Toxiproxy | None = None
    proxies: list[Proxy] = field(default_factory=list)

    def start(self) -> None:
        self.server = Toxiproxy(self.api_port, self.run_dir).start()
        self.proxies = [
            self.server.proxy(
                f"kafka-{n}", self.cluster.proxy_port + n - 1, self.cluster.external_listener(n)
            )
            for n in range(1, self.cluster.brokers + 1)
        ]

    def latency(self, ms: int, seconds: float) -> None:
        """Every broker's answers to the services `ms` late for `seconds`."""
        with self.slow(ms):
            time.sleep(seconds)

    @contextmanager
    def slow(self, ms: int) -> Iterator[None]:
        """Every broker's answers to the services `ms` late while the block runs; the
        toxics go even if the block fails."""
        names = [(p, p.latency(ms)) for p in self.proxies]
        try:
            yield
        finally:
            for proxy, name in names:
                proxy.remove_toxic(name)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
