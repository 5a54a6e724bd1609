"""The shell scripts of infra/local/, read as text: mistakes that only show at run time."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "infra" / "local").glob("*.sh"))
# An unquoted heredoc (<<ENV, not <<'ENV') expands $(…) and `…`: a backquoted word in a
# comment there runs as a command (once it was `make demo`, which ran make up, again).
HEREDOC = re.compile(r"<<-?(\w+)\n(.*?)\n\1\n", re.S)
UNESCAPED_BACKQUOTE = re.compile(r"(?<!\\)`")


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_no_unquoted_heredoc_runs_a_command(script: Path) -> None:
    for _, body in HEREDOC.findall(script.read_text()):
        for line in body.splitlines():
            assert not UNESCAPED_BACKQUOTE.search(line), f"{script.name}: runs {line!r}"
            if line.lstrip().startswith("#"):  # a comment in the file written, not a command
                assert "$(" not in line, f"{script.name}: runs {line!r}"


def test_make_up_names_the_dashboard_and_every_service_url() -> None:
    """Scripts find a running system through .run/services.env alone; each service's
    base URL answers /metrics."""
    written = dict(HEREDOC.findall((ROOT / "infra" / "local" / "services.sh").read_text()))
    names = set(re.findall(r"^(FLASHSALE_\w+_URL)=", written["ENV"], re.M))
    services = ["GATEWAY", "ORDER_SERVICE", "INVENTORY_CONSUMER", "NOTIFICATION_CONSUMER"]
    assert {f"FLASHSALE_{s}_URL" for s in [*services, "DASHBOARD"]} <= names


def _properties(run_dir: Path, **env: str) -> str:
    """Node 2 of a 3-broker cluster's server.properties, as kafka.sh writes it."""
    variables = {
        **os.environ,
        "FLASHSALE_RUN_DIR": str(run_dir),
        "FLASHSALE_KAFKA_PORT": "29092",
        "KAFKA_BROKERS": "3",
        **env,
    }
    script = ROOT / "infra/local/kafka.sh"
    subprocess.run(["bash", str(script), "write_properties", "2"], env=variables, check=True)
    return (run_dir / "kafka/node-2/server.properties").read_text()


def test_kafka_listens_behind_a_proxy_only_when_asked(tmp_path: Path) -> None:
    assert "EXTERNAL" not in _properties(tmp_path / "plain")
    proxied = _properties(tmp_path / "proxied", FLASHSALE_KAFKA_PROXY_PORT="30000")
    listeners = (
        "PLAINTEXT://127.0.0.1:29094,CONTROLLER://127.0.0.1:29095,EXTERNAL://127.0.0.1:29099"
    )
    assert f"\nlisteners={listeners}\n" in proxied
    advertised = "PLAINTEXT://127.0.0.1:29094,EXTERNAL://127.0.0.1:30001"
    assert f"\nadvertised.listeners={advertised}\n" in proxied
    assert "\ninter.broker.listener.name=PLAINTEXT\n" in proxied  # replication stays direct
