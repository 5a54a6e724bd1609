"""`make infra-up && make infra-up && make infra-down`: idempotent, and nothing left behind.

Runs the same scripts on ports and a run dir of its own, so the shared infra is untouched.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.infra import ROOT

pytestmark = pytest.mark.integration

PORTS = {"FLASHSALE_KAFKA_PORT": 29292, "FLASHSALE_REDIS_PORT": 29279, "FLASHSALE_PG_PORT": 29232}


def _infra(action: str, run_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **{k: str(v) for k, v in PORTS.items()},
        "FLASHSALE_RUN_DIR": str(run_dir),
        "FLASHSALE_KAFKA_LIB": str(ROOT / ".run/kafka/lib"),
        "FLASHSALE_KAFKA_HEAP": "384m",
    }
    return subprocess.run(
        ["bash", str(ROOT / "infra/local/infra.sh"), action],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def run_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: that sits in a 0700 folder the `postgres` user cannot enter.
    path = Path(tempfile.mkdtemp(prefix="flashsale-infra-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_up_twice_then_down_leaves_no_process_listening(run_dir: Path) -> None:
    tmp_path = run_dir
    ports = [*PORTS.values(), PORTS["FLASHSALE_KAFKA_PORT"] + 1]
    try:
        first = _infra("up", tmp_path)
        assert first.returncode == 0, first.stderr
        assert all(_listening(p) for p in ports)
        env_file = dict(
            line.split("=", 1) for line in (tmp_path / "infra.env").read_text().splitlines()
        )
        assert env_file["FLASHSALE_KAFKA_BOOTSTRAP"] == f"127.0.0.1:{PORTS['FLASHSALE_KAFKA_PORT']}"

        started = time.monotonic()
        second = _infra("up", tmp_path)
        assert second.returncode == 0, second.stderr
        assert time.monotonic() - started < 10, "a second `up` must be a no-op"
        assert [line.split()[:2] for line in second.stdout.splitlines()] == [
            ["kafka", "up"],
            ["redis", "up"],
            ["postgres", "up"],
        ]
    finally:
        down = _infra("down", tmp_path)
    assert down.returncode == 0, down.stderr
    assert not any(_listening(p) for p in ports)
    assert not list((tmp_path / "pids").glob("*.pid"))
    assert _infra("status", tmp_path).returncode != 0
