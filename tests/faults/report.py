"""The reliability table of the README, generated from the last fault run's records.

`python -m tests.faults.report` (run by `make faults` and `make nemesis` after the tests)
reads .run/faults/*.json, one record per fault test, and rewrites the block between the
README's `<!-- faults:start -->` and `<!-- faults:end -->` markers, so the table shown is
always that of a real run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loadtests.bench_report import replace_block
from tests.infra import ROOT

__all__ = ["MARKERS", "main", "render"]

MARKERS = ("<!-- faults:start -->", "<!-- faults:end -->")
RECORDS = ROOT / ".run" / "faults"
HEADER = (
    "| fault | offered | tokens (202) | orders in PostgreSQL | FAILED | violations "
    "| recovery |\n|---|---:|---:|---:|---:|---:|---:|"
)


def render(records: list[dict[str, Any]]) -> str:
    lines = [HEADER]
    for r in sorted(records, key=lambda r: r["test"]):
        recovery = "-" if r.get("recovery_s") is None else f"{r['recovery_s']:.1f} s"
        cells = [
            r["fault"],
            f"{r['offered']:,}",
            f"{r['tokens']:,}",
            f"{r['orders']:,}",
            f"{r['failed']:,}",
            str(len(r["violations"])),
            recovery,
        ]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def main(records: Path = RECORDS, readme: Path = ROOT / "README.md") -> None:
    found = [json.loads(path.read_text()) for path in sorted(records.glob("*.json"))]
    if not found:
        raise SystemExit(f"no fault records in {records}: run `make faults` first")
    readme.write_text(replace_block(readme.read_text(), render(found), MARKERS))
    print(f"wrote the table of {len(found)} fault runs into {readme.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
