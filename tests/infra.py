"""Where the tests find the real Kafka, Redis and PostgreSQL.

In order: the FLASHSALE_* env vars; else `.run/infra.env` left by `make infra-up`; else
testcontainers, when a Docker engine answers and the module is installed; else the local
scripts are run to start the infra. A service that does not answer fails the run:
integration tests are never skipped for a missing service.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

from flashsale.settings import InfraSettings
from tests.containers import docker_answers, start_containers

ROOT = Path(__file__).resolve().parent.parent
INFRA_ENV = ROOT / ".run" / "infra.env"
KEYS = ("FLASHSALE_KAFKA_BOOTSTRAP", "FLASHSALE_REDIS_URL", "FLASHSALE_DATABASE_URL")


def _read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def _start_local_infra() -> None:
    subprocess.run(["bash", str(ROOT / "infra/local/infra.sh"), "up"], check=True, timeout=900)


def _find_or_start_infra() -> dict[str, str]:
    if INFRA_ENV.exists():
        return _read_env_file(INFRA_ENV)
    if docker_answers() and importlib.util.find_spec("testcontainers") is not None:
        return start_containers()
    _start_local_infra()
    return _read_env_file(INFRA_ENV)


def _endpoints(settings: InfraSettings) -> list[tuple[str, str, int]]:
    out = []
    for server in settings.kafka_bootstrap.split(","):
        host, port = server.rsplit(":", 1)
        out.append(("kafka", host, int(port)))
    for name, url in (("redis", settings.redis_url), ("postgres", settings.database_url)):
        parsed = urlparse(url)
        out.append((name, parsed.hostname or "127.0.0.1", parsed.port or 0))
    return out


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def resolve_infra() -> InfraSettings:
    """Point the FLASHSALE_* env vars at a running infra, starting the local one if need be."""
    if not all(os.environ.get(k) for k in KEYS):
        for key, value in _find_or_start_infra().items():
            os.environ.setdefault(key, value)
    settings = InfraSettings()
    deadline = time.monotonic() + 30
    for name, host, port in _endpoints(settings):
        while not _answers(host, port):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{name} at {host}:{port} does not answer: start it with `make infra-up`"
                )
            time.sleep(0.5)
    return settings
