"""The README, checked against the code, with no network and no servers: a newcomer who
copies a command from it, follows a path in it or reads its configuration reference gets
something that exists.

- the configuration reference is what `tests/config_reference.py` prints (`make readme`);
- every command in a ```bash / ```sh / ```console block names a real Makefile target, CLI
  command, module or test path, or is one of a few tools allowed verbatim. Anything else
  fails: a new kind of command is taught to `check_command` on purpose;
- every path in the design-point map exists, and no design point is missing;
- the Mermaid diagrams are there and name the topics and groups the settings default to.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup

from flashsale.cli import app
from flashsale.contracts import OrderStatus
from flashsale.settings import KafkaSettings
from notification_consumer.settings import NotificationConsumerSettings
from tests import config_reference

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SHELL_FENCES = {"bash", "sh", "console"}
# Tools whose commands are shown as they are: nothing in this repository to check them by.
VERBATIM = {"echo", "curl", "cp", "openssl", "export"}
VERBATIM_SUBCOMMANDS = {"docker": "compose", "git": "clone"}
FLASHSALE = {"flashsale", ".venv/bin/flashsale"}
PYTHONS = {"python", "python3", ".venv/bin/python"}
PYTEST = {"pytest", ".venv/bin/pytest"}
PYTEST_OWN_OPTIONS = {"-q", "-x", "-v", "-k", "-m", "--lf"}
OPERATORS = {"&&", "||", ";", "|", "&"}
REDIRECTS = {">", ">>", "<", "2>", "&>"}
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
DESIGN_MAP_HEADER = "| design point | where |"
DESIGN_POINTS = {
    "rate limiting",
    "waiting room",
    "sold-out shortcut",
    "reservation",
    "one purchase per user",
    "ack-then-token",
    "voids and recovery",
    "idempotency keys",
    "keyed partitions",
    "batching",
    "peak-shaving write cap",
    "outbox and relay",
    "expiry",
    "DLQ and replay",
    "notifications once",
    "check and repair",
    "metrics",
}


def readme() -> str:
    return README.read_text()


# --- the configuration reference ---------------------------------------------------------


def test_the_configuration_reference_is_current() -> None:
    text = readme()
    assert config_reference.BEGIN in text and config_reference.END in text, "markers missing"
    start = text.index(config_reference.BEGIN)
    block = text[start : text.index(config_reference.END) + len(config_reference.END)]
    assert block == config_reference.reference(), "the reference is stale: run `make readme`"


# --- the shell commands ------------------------------------------------------------------


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block."""
    return re.findall(r"^```([\w-]*)\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def shell_lines(text: str) -> Iterator[str]:
    """Every command line of the shell blocks: continuations joined; in a console block
    only the `$ ` lines (the rest is output)."""
    for language, body in fenced_blocks(text):
        if language not in SHELL_FENCES:
            continue
        for line in body.replace("\\\n", " ").splitlines():
            if language == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            if line.strip() and not line.lstrip().startswith("#"):
                yield line.strip()


def simple_commands(line: str) -> list[list[str]]:
    """A line as its simple commands: split on && ; | ..., without redirections, comments
    and leading VAR=value assignments."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    tokens = iter(lexer)
    for token in tokens:
        if token in OPERATORS:
            commands.append([])
        elif token in REDIRECTS:
            next(tokens, None)  # the redirection's target
        elif commands[-1] or not ENV_ASSIGNMENT.match(token):
            commands[-1].append(token)
    return [words for words in commands if words]


def check_command(words: list[str]) -> str | None:
    """None when the command names something real, else what is wrong with it."""
    head, args = words[0], words[1:]
    if head in VERBATIM or args[:1] == [VERBATIM_SUBCOMMANDS.get(head)]:
        return None
    if head == "make":
        return check_make(args)
    if head in FLASHSALE:
        return check_cli(args)
    if head in PYTHONS and args[:1] == ["-m"] and len(args) > 1:
        return check_cli(args[2:]) if args[1] == "flashsale.cli" else check_module(args[1])
    if head in PYTEST:
        return check_pytest(args)
    return f"unknown command {head!r}: teach tests/unit/test_readme.py about it on purpose"


def make_targets() -> set[str]:
    """The Makefile's documented targets: those `make help` lists (a `## ` comment)."""
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z_-]+):.*## ", text, flags=re.MULTILINE))


def check_make(args: list[str]) -> str | None:
    targets = [a for a in args if not a.startswith("-") and "=" not in a]
    unknown = [t for t in targets if t not in make_targets()]
    return f"no documented make target {unknown}" if unknown else None


def check_cli(args: list[str]) -> str | None:
    """`flashsale X ...`: X (with its sub-group) is a command of flashsale/cli.py, and every
    --option is one of its options."""
    command = typer.main.get_command(app)
    path: list[str] = []
    for arg in args:
        if arg.startswith("-") or not isinstance(command, TyperGroup):
            break
        if arg not in command.commands:
            return f"flashsale has no command {' '.join([*path, arg])!r}"
        command, path = command.commands[arg], [*path, arg]
    if isinstance(command, TyperGroup):
        return f"`flashsale {' '.join(path)}` is a group, not a command"
    options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
    unknown = [a for a in args if a.startswith("--") and a.split("=")[0] not in options]
    return f"`flashsale {' '.join(path)}` has no option {unknown}" if unknown else None


def check_module(module: str) -> str | None:
    """`python -m pkg`: pkg/__main__.py exists (or, dotted, the module's own file)."""
    path = ROOT / module.replace(".", "/")
    if (path / "__main__.py").is_file() or path.with_suffix(".py").is_file():
        return None
    return f"no module {module} to run"


def check_pytest(args: list[str]) -> str | None:
    """Test paths exist; options are pytest's common ones or registered in our conftest."""
    conftest = (ROOT / "tests" / "conftest.py").read_text()
    for arg in args:
        if arg.startswith("-"):
            if arg not in PYTEST_OWN_OPTIONS and f'"{arg}"' not in conftest:
                return f"pytest has no option {arg} here"
        elif not (ROOT / arg.split("::")[0]).exists():
            return f"no test path {arg}"
    return None


def test_the_two_commands_come_first() -> None:
    first = next(shell_lines(readme()))
    assert simple_commands(first) == [["make", "demo"]]


def test_every_shell_command_names_a_real_thing() -> None:
    lines = list(shell_lines(readme()))
    assert len(lines) > 10, "the shell blocks were not found"
    problems = [
        f"{line}: {problem}"
        for line in lines
        for words in simple_commands(line)
        if (problem := check_command(words)) is not None
    ]
    assert problems == []


@pytest.mark.parametrize(
    "line",
    [
        "make no-such-target",
        "make install && make no-such-target",
        "flashsale no-such-command",
        "flashsale dlq",
        ".venv/bin/flashsale check --no-such-option",
        "python -m flashsale.cli dlq no-such-command",
        "python -m no_such_package",
        ".venv/bin/pytest tests/no_such_test.py",
        "pytest --no-such-option",
        "rm -rf .run",
        "docker run flashsale:local",
        "echo ok | sh",
    ],
)
def test_the_command_check_refuses_what_does_not_exist(line: str) -> None:
    assert any(check_command(words) for words in simple_commands(line))


@pytest.mark.parametrize(
    "line",
    [
        "make demo    # a comment",
        "KAFKA_BROKERS=3 make infra-up",
        ".venv/bin/flashsale dlq replay --limit 5",
        "python -m flashsale.cli check --sale s1 --json",
        "python -m inventory_consumer",
        "docker compose up -d --build",
        'echo "TOKEN=$(openssl rand -hex 24)" >> .env',
        ".venv/bin/pytest -q tests/unit --keep-test-data",
    ],
)
def test_the_command_check_accepts_what_exists(line: str) -> None:
    commands = simple_commands(line)
    assert commands
    assert [check_command(words) for words in commands] == [None] * len(commands)


# --- the design-point map ----------------------------------------------------------------


def design_map(text: str) -> dict[str, list[str]]:
    """Each row of the design-point map: its design point -> the backticked paths in it
    (any backticked token with a slash or a file suffix; /url paths are not files)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(DESIGN_MAP_HEADER))
    rows: dict[str, list[str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        tokens = re.findall(r"`([^`]+)`", line)
        rows[cells[0]] = [t for t in tokens if _is_repo_path(t)]
    return rows


def _is_repo_path(token: str) -> bool:
    looks_like_file = re.search(r"\.(py|lua|html|yml|yaml|toml|sh|md)$", token) is not None
    return not token.startswith("/") and ("/" in token or looks_like_file)


def missing_paths(rows: dict[str, list[str]]) -> list[str]:
    return [path for paths in rows.values() for path in paths if not (ROOT / path).exists()]


def test_every_path_in_the_design_map_exists() -> None:
    rows = design_map(readme())
    assert [point for point, paths in rows.items() if not paths] == [], "rows with no path"
    assert DESIGN_POINTS - set(rows) == set(), "design points missing from the map"
    assert missing_paths(rows) == []


def test_the_design_map_check_finds_a_missing_path() -> None:
    table = f"{DESIGN_MAP_HEADER} in one line |\n|---|---|---|\n"
    table += "| batching | `inventory_consumer/no_such_module.py` | `/api/x` is a URL |\n"
    assert missing_paths(design_map(table)) == ["inventory_consumer/no_such_module.py"]


# --- the diagrams --------------------------------------------------------------------------


def mermaid_blocks(text: str) -> dict[str, str]:
    """The Mermaid blocks by their diagram type (their first word)."""
    blocks = [body for language, body in fenced_blocks(text) if language == "mermaid"]
    return {body.split(maxsplit=1)[0]: body for body in blocks if body.strip()}


def test_the_flowchart_names_the_default_topics_and_groups() -> None:
    flowchart = mermaid_blocks(readme()).get("flowchart")
    assert flowchart is not None, "the four-layer flowchart is missing"
    kafka = KafkaSettings.model_fields
    names = [kafka[f].default for f in ("orders_topic", "order_events_topic", "dlq_topic")]
    names += [
        kafka["inventory_group_id"].default,
        NotificationConsumerSettings.model_fields["notification_group_id"].default,
    ]
    assert [name for name in names if name not in flowchart] == []


def test_the_state_diagram_has_every_order_status() -> None:
    states = mermaid_blocks(readme()).get("stateDiagram-v2")
    assert states is not None, "the order state diagram is missing"
    assert [s.value for s in OrderStatus if s.value not in states] == []
