"""The rows of `make bench` as data: one object per row, written to .run/bench/results.json.

Every row names its `baseline` (another row of the same run) and its `ratio` to it; what
the ratio compares (req/s, p50, success rate, a measured/predicted figure) is in
`ratio_of`. Extra keys (success_rate, peak, cap, relative_error, ...) ride along.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["RESULTS", "Results", "result"]

RESULTS = Path(".run/bench/results.json")


def result(
    name: str,
    rps: float | None,
    p50_ms: float | None = None,
    p99_ms: float | None = None,
    ratio: float | None = None,
    baseline: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {
        "name": name,
        "rps": rounded(rps),
        "p50_ms": rounded(p50_ms),
        "p99_ms": rounded(p99_ms),
        "ratio": rounded(ratio),
        "baseline": baseline,
        **{key: rounded(v) if isinstance(v, float) else v for key, v in extra.items()},
    }


class Results:
    """The rows of one run, kept in order and saved after each section (a part run alone
    with --only replaces its own section's rows and keeps the others')."""

    def __init__(self, path: Path = RESULTS) -> None:
        self.path = path
        self.sections: dict[str, list[dict[str, Any]]] = {}
        if path.exists():
            saved = json.loads(path.read_text())
            for row in saved:
                self.sections.setdefault(row.get("section", "other"), []).append(row)

    def put(self, section: str, rows: list[dict[str, Any]]) -> None:
        self.sections[section] = [{**row, "section": section} for row in rows]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.rows(), indent=1) + "\n")

    def rows(self) -> list[dict[str, Any]]:
        return [row for rows in self.sections.values() for row in rows]
