"""The infra from testcontainers, for machines where a Docker engine answers and no local
infra runs. Never used here (no engine on the dev machines): `tests/infra.py` only comes
here after `docker info` succeeded, and `pip install -e '.[docker]'` brought the module.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
from typing import Any


def docker_answers() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        return (
            subprocess.run(
                [docker, "info"], capture_output=True, timeout=10, check=False
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def start_containers() -> dict[str, str]:
    """Start Kafka (KRaft), Redis and PostgreSQL containers; return the FLASHSALE_* env."""
    from testcontainers.kafka import KafkaContainer  # type: ignore[import-not-found]
    from testcontainers.postgres import PostgresContainer  # type: ignore[import-not-found]
    from testcontainers.redis import RedisContainer  # type: ignore[import-not-found]

    kafka: Any = KafkaContainer().with_kraft()
    redis: Any = RedisContainer("redis:7")
    postgres: Any = PostgresContainer("postgres:15", driver="psycopg")
    for container in (kafka, redis, postgres):
        container.start()
        atexit.register(container.stop)
    return {
        "FLASHSALE_KAFKA_BOOTSTRAP": kafka.get_bootstrap_server(),
        "FLASHSALE_REDIS_URL": f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0",
        "FLASHSALE_DATABASE_URL": postgres.get_connection_url(),
    }
