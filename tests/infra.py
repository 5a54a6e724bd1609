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
from pathlib import Path
from urllib.parse import urlparse

from flashsale.settings import InfraSettings
from tests.containers import docker_answers, start_containers
from tests.polling import eventually

ROOT = Path(__file__).resolve().parent.parent
INFRA_ENV = ROOT / ".run" / "infra.env"
KEYS = ("FLASHSALE_KAFKA_BOOTSTRAP", "FLASHSALE_REDIS_URL", "FLASHSALE_DATABASE_URL")


def _start_local_infra() -> None:
    subprocess.run(["bash", str(ROOT / "infra/local/infra.sh"), "up"], check=True, timeout=900)


def _find_or_start_infra() -> None:
    """Leave `.run/infra.env` (or the containers' env vars) pointing at a running infra."""
    if INFRA_ENV.exists():
        return
    if docker_answers() and importlib.util.find_spec("testcontainers") is not None:
        for key, value in start_containers().items():
            os.environ.setdefault(key, value)
        return
    _start_local_infra()


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
        _find_or_start_infra()
    # pydantic-settings reads the env file; variables already in the environment win.
    settings = InfraSettings(_env_file=INFRA_ENV)
    # The services the e2e tests start as processes must find the same infra.
    os.environ.setdefault("FLASHSALE_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
    os.environ.setdefault("FLASHSALE_REDIS_URL", settings.redis_url)
    os.environ.setdefault("FLASHSALE_DATABASE_URL", settings.database_url)
    for name, host, port in _endpoints(settings):
        what = f"{name} at {host}:{port} (start it with `make infra-up`)"
        eventually(lambda h=host, p=port: _answers(h, p), 30, what, every_s=0.5)
    return settings
