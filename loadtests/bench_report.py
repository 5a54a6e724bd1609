"""The results of `make bench` as Markdown tables, generated from .run/bench/results.json.

`python -m loadtests.bench_report` rewrites the block between the markers in the README
(the HTTP paths and the claims) and in docs/benchmarks.md (every section), and the
capacity table derived from them (capacity.py) in both,
so the tables shown are always those of one real run. `parse_table` reads a block back
(the unit test checks the committed README still parses into rows).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from loadtests.capacity import render_capacity

__all__ = ["CAPACITY", "END", "START", "parse_table", "render", "render_sections", "replace_block"]

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench-results:start -->", "<!-- bench-results:end -->"
CAPACITY = ("<!-- capacity:start -->", "<!-- capacity:end -->")
README_SECTIONS = ("http", "coupled", "cap", "burst")
HEADER = "| row | req/s | p50 ms | p99 ms | ratio | baseline | notes |"
PERCENT_KEYS = ("expected", "success_rate", "relative_error")
NOTE_KEYS = (
    "expected",
    "success_rate",
    "peak",
    "cap",
    "predicted",
    "seconds_measured",
    "relative_error",
    "sell_out_s",
    "write_cap",
    "peak_lag",
    "drain_s",
    "admitted",
    "orders_created",
    "errors",
    "other_answers",
    "invariants_ok",
    "violations",
    "unit",
)


def _number(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _note(key: str, value: Any) -> str:
    if key in PERCENT_KEYS:
        return f"{key} {value:+.1%}" if key == "relative_error" else f"{key} {value:.1%}"
    if isinstance(value, float):
        return f"{key} {value:,.1f}"
    if isinstance(value, list):
        return f"{key} {', '.join(value) or 'none'}"
    if isinstance(value, dict):
        return f"{key} {', '.join(f'{k} {n}' for k, n in value.items()) or 'none'}"
    return f"{key} {value}"


def render(rows: list[dict[str, Any]]) -> str:
    """One Markdown table; a ratio reads "<ratio>x <what it compares>"."""
    lines = [HEADER, "|---|---:|---:|---:|---:|---|---|"]
    for row in rows:
        ratio = row.get("ratio")
        what = row.get("ratio_of") or "rps"
        cells = [
            row["name"],
            _number(row.get("rps")),
            _number(row.get("p50_ms"), 1),
            _number(row.get("p99_ms"), 1),
            "-" if ratio is None else f"{ratio:.2f}x {what}",
            row.get("baseline") or "-",
            "; ".join(_note(k, row[k]) for k in NOTE_KEYS if row.get(k) is not None),
        ]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def render_sections(rows: list[dict[str, Any]], sections: tuple[str, ...] | None = None) -> str:
    """A table per section, in the order the run wrote them."""
    order = list(dict.fromkeys(row.get("section", "other") for row in rows))
    tables = [
        f"**{section}**\n\n" + render([r for r in rows if r.get("section", "other") == section])
        for section in order
        if sections is None or section in sections
    ]
    return "\n\n".join(tables)


def parse_table(block: str) -> list[dict[str, str]]:
    """The rows of the Markdown tables in `block`, as {column: cell} (header and rule
    lines skipped)."""
    columns = [c.strip() for c in HEADER.strip("|").split("|")]
    rows = []
    for line in block.splitlines():
        if not line.startswith("| ") or line == HEADER:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == len(columns):
            rows.append(dict(zip(columns, cells, strict=True)))
    return rows


def replace_block(text: str, body: str, markers: tuple[str, str] = (START, END)) -> str:
    start, end = markers
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"no {start} ... {end} block")
    return pattern.sub(lambda _: f"{start}\n{body}\n{end}", text)


def main(results: Path = ROOT / ".run/bench/results.json") -> None:
    rows = json.loads(results.read_text())
    for path, sections in (
        (ROOT / "README.md", README_SECTIONS),
        (ROOT / "docs/benchmarks.md", None),
    ):
        text = replace_block(path.read_text(), render_sections(rows, sections))
        text = replace_block(text, render_capacity(rows), CAPACITY)
        path.write_text(text)
        print(f"wrote the bench and capacity tables into {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
