"""Production security as settings the code reads: Kafka SASL_SSL in every client config,
Redis `requirepass` through FLASHSALE_REDIS_URL (a dedicated Redis of the test's own, on
its own port and run dir: the shared one has no password), and a PostgreSQL login role
that is not a superuser, granted only DML, that runs admission and fulfilment."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import ProgrammingError

from flashsale.kafka import connection_config, consumer_config, producer_config
from flashsale.settings import InfraSettings, KafkaSettings
from tests.abuse.edges import create_sale_over_http, running_edge, service_env
from tests.fulfilment_helpers import inventory_settings, running_inventory, scalar, session_url
from tests.net import free_port
from tests.polling import eventually
from tests.random_refs import random_sale_id, suffix

SASL = {
    "kafka_bootstrap": "broker-1:9093,broker-2:9093",
    "kafka_security_protocol": "SASL_SSL",
    "kafka_sasl_mechanism": "SCRAM-SHA-512",
    "kafka_sasl_username": "flashsale",
    "kafka_sasl_password": SecretStr("kafka-secret"),
    "kafka_ssl_ca_location": "/etc/flashsale/kafka-ca.pem",
}


def test_sasl_ssl_settings_reach_every_kafka_client_config() -> None:
    settings = KafkaSettings(**SASL)
    expected = {
        "bootstrap.servers": "broker-1:9093,broker-2:9093",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "flashsale",
        "sasl.password": "kafka-secret",
        "ssl.ca.location": "/etc/flashsale/kafka-ca.pem",
    }
    assert connection_config(settings) == expected
    for config in (
        producer_config(settings, "p"),
        consumer_config(settings, "g", "c"),
    ):
        assert expected.items() <= config.items()
    # A bootstrap string alone is the local PLAINTEXT infra, as before.
    assert connection_config("127.0.0.1:19092") == {"bootstrap.servers": "127.0.0.1:19092"}
    assert "kafka-secret" not in repr(settings)  # a SecretStr: never in a log line


def test_sasl_without_credentials_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="FLASHSALE_KAFKA_SASL_USERNAME"):
        KafkaSettings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="flashsale")
    plain = connection_config(KafkaSettings(kafka_bootstrap="b:9092"))
    assert plain == {"bootstrap.servers": "b:9092", "security.protocol": "PLAINTEXT"}


# The ACL the settings' comment documents for a service's own Redis user; `default` off.
ACL_USER = [
    "on",
    "~*",
    "&*",
    "+@read",
    "+@write",
    "+@scripting",
    "+@pubsub",
    "+@transaction",
    "+@connection",
]


@pytest.fixture(params=["requirepass", "acl-user"])
def password_redis(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """redis-server with requirepass, or with an ACL user of its own and the default user
    off, on a free port under the test's tmp dir: (URL with the credentials, without)."""
    port, password = free_port(), secrets.token_hex(16)
    run_dir = tmp_path / "redis"
    run_dir.mkdir()
    if request.param == "requirepass":
        auth, url = ["--requirepass", password], f"redis://:{password}@127.0.0.1:{port}/0"
    else:
        auth = ["--user", "default", "off", "--user", "flashsale", f">{password}", *ACL_USER]
        url = f"redis://flashsale:{password}@127.0.0.1:{port}/0"
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(run_dir),
         "--save", "", "--appendonly", "no", *auth],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        eventually(lambda: _answers_ping(port), 10, "the dedicated redis")
        yield url, f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)


def _answers_ping(port: int) -> bool:
    out = subprocess.run(
        ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, check=False
    )
    return "NOAUTH" in out.stdout or "PONG" in out.stdout


@pytest.mark.integration
def test_the_order_service_uses_the_password_in_the_redis_url_and_fails_clearly_without(
    infra: InfraSettings, tmp_path: Path, password_redis: tuple[str, str]
) -> None:
    url, url_without = password_redis
    with_password = service_env(infra, FLASHSALE_REDIS_URL=url)
    with running_edge("order_service", with_password, tmp_path) as orders:
        sale_id = random_sale_id("acl")
        create_sale_over_http(orders.url, with_password["FLASHSALE_ADMIN_TOKEN"], sale_id, 3)
        bought = httpx.post(
            f"{orders.url}/api/sales/{sale_id}/orders", json={"user_id": "u1"}, timeout=10
        )
        assert bought.status_code == 202, bought.text

    without = {**with_password, "FLASHSALE_REDIS_URL": url_without}
    with running_edge("order_service", without, tmp_path) as orders:
        refused = httpx.post(
            f"{orders.url}/api/sales/{sale_id}/orders", json={"user_id": "u2"}, timeout=10
        )
        assert refused.status_code == 503
        assert refused.json() == {"error": "unavailable"}
        eventually(lambda: "AuthenticationError" in orders.log_text(), 10, "the log line")


APP_ROLE_GRANTS = [
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
]


@pytest.fixture
def app_role(engine: Engine) -> Iterator[str]:
    """The role the settings' comment describes: LOGIN, no superuser, DML only."""
    role = f"test_app_{suffix()}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'))
        for grant in APP_ROLE_GRANTS:
            conn.execute(text(grant.format(role=f'"{role}"')))
    try:
        yield role
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                {"r": role},
            )
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))


@pytest.mark.integration
def test_a_dml_only_role_runs_admission_and_fulfilment_and_cannot_alter_the_schema(
    infra: InfraSettings, engine: Engine, tmp_path: Path, app_role: str
) -> None:
    database_url = session_url(infra.database_url, "abuse-app-role", app_role)
    env = service_env(infra, FLASHSALE_DATABASE_URL=database_url)
    sale_id = random_sale_id("role")
    with running_edge("order_service", env, tmp_path) as orders:
        create_sale_over_http(orders.url, env["FLASHSALE_ADMIN_TOKEN"], sale_id, 3)
        bought = httpx.post(
            f"{orders.url}/api/sales/{sale_id}/orders", json={"user_id": "u1"}, timeout=10
        )
        assert bought.status_code == 202, bought.text
    settings = inventory_settings(
        infra, orders_topic=env["FLASHSALE_ORDERS_TOPIC"], database_url=database_url
    )
    status = "SELECT status FROM orders WHERE order_id = :o"
    with running_inventory(settings):
        eventually(lambda: scalar(engine, status, o=bought.json()["order_id"]) == "CREATED", 30)
    role_engine = create_engine(database_url)
    try:
        with pytest.raises(ProgrammingError, match="must be owner"), role_engine.begin() as conn:
            conn.execute(text("ALTER TABLE orders ADD COLUMN stolen text"))
        with role_engine.connect() as conn:
            assert (
                conn.execute(
                    text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                ).scalar()
                is False
            )
    finally:
        role_engine.dispose()
