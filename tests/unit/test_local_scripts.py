"""The shell scripts of infra/local/, read as text: mistakes that only show at run time."""

from __future__ import annotations

import re
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
