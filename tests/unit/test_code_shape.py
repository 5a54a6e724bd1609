"""The template's shape, checked: short modules, short functions, the same rooms in every
service. A newcomer who learns one service should find the same files in the other three."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["gateway", "order_service", "inventory_consumer", "notification_consumer", "dashboard"]
PRODUCTION = ["flashsale", *SERVICES, "loadtests"]
MAX_MODULE_LINES = 250
MAX_FUNCTION_LINES = 40
# Every service has these rooms (handlers: its use cases; adapters/: its I/O).
SKELETON = ["__init__.py", "__main__.py", "settings.py", "bootstrap.py", "ports.py", "handlers.py"]


def production_modules() -> list[Path]:
    modules = [p for package in PRODUCTION for p in (ROOT / package).rglob("*.py")]
    # A migration is a frozen record of a schema, read top to bottom: long by nature.
    return sorted(p for p in modules if "migrations" not in p.parts)


def test_no_module_is_over_the_limit() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in production_modules()
        if (n := _lines(p)) > MAX_MODULE_LINES
    }
    assert long == {}, f"modules over {MAX_MODULE_LINES} lines: split them"


def test_no_function_is_over_the_limit() -> None:
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)"
        for path in production_modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (length := node.end_lineno - node.lineno + 1) > MAX_FUNCTION_LINES  # type: ignore[operator]
    ]
    assert long == [], f"functions over {MAX_FUNCTION_LINES} lines"


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_skeleton(service: str) -> None:
    missing = [name for name in SKELETON if not (ROOT / service / name).is_file()]
    assert missing == []
    assert (ROOT / service / "adapters" / "__init__.py").is_file(), "adapters/ holds the I/O"


@pytest.mark.parametrize("service", SERVICES)
def test_every_entry_point_has_a_main(service: str) -> None:
    tree = ast.parse((ROOT / service / "__main__.py").read_text())
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "main" in names


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another(service: str) -> None:
    others = set(SERVICES) - {service}
    imported = {
        name.split(".")[0]
        for path in (ROOT / service).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        for name in _imported_names(node)
    }
    assert imported & others == set()


def _imported_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module]
    return []


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())
