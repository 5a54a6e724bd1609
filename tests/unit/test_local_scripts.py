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
