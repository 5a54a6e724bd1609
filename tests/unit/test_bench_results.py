"""The bench's results as tables: rendered from results.json, and the committed README
block still reads back as rows (it is generated, never edited by hand)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from loadtests.bench_report import END, START, parse_table, render, render_sections, replace_block
from loadtests.bench_results import Results, result

ROOT = Path(__file__).resolve().parents[2]

ROWS = [
    {
        **result("pipeline: admission (202)", 50.0, 8.86, 14.9, 1.0, "pipeline: admission (202)"),
        "section": "coupled",
        "ratio_of": "p50",
        "success_rate": 1.0,
    },
    {
        **result(
            "coupled checkout (201)", 42.8, 1019.0, 1139.8, 115.0, "pipeline: admission (202)"
        ),
        "section": "coupled",
        "ratio_of": "p50",
        "success_rate": 0.0,
    },
    {
        **result("drain time vs peak / C", None, ratio=0.997, baseline="(R - C)·D / C"),
        "section": "cap",
        "relative_error": -0.003,
        "violations": [],
    },
]


def test_a_row_renders_its_numbers_ratio_baseline_and_notes() -> None:
    lines = render(ROWS).splitlines()
    assert lines[0] == "| row | req/s | p50 ms | p99 ms | ratio | baseline | notes |"
    assert lines[3] == (
        "| coupled checkout (201) | 43 | 1,019.0 | 1,139.8 | 115.00x p50"
        " | pipeline: admission (202) | success_rate 0.0% |"
    )
    assert lines[4] == (
        "| drain time vs peak / C | - | - | - | 1.00x rps | (R - C)·D / C"
        " | relative_error -0.3%; violations none |"
    )


def test_rendered_tables_parse_back_to_the_same_rows() -> None:
    parsed = parse_table(render_sections(ROWS))
    assert [row["row"] for row in parsed] == [row["name"] for row in ROWS]
    assert parsed[1]["ratio"] == "115.00x p50"


def test_sections_can_be_chosen() -> None:
    text = render_sections(ROWS, ("cap",))
    assert "**cap**" in text
    assert "coupled checkout" not in text


def test_the_block_between_the_markers_is_replaced() -> None:
    text = f"before\n{START}\nold\n{END}\nafter\n"
    assert replace_block(text, "new") == f"before\n{START}\nnew\n{END}\nafter\n"
    with pytest.raises(ValueError, match="no"):
        replace_block("no markers here", "new")


def test_results_keep_other_sections_when_one_is_rerun(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    Results(path).put("coupled", ROWS[:2])
    later = Results(path)
    later.put("cap", ROWS[2:])
    later.put("coupled", ROWS[:1])
    saved = json.loads(path.read_text())
    assert [(row["section"], row["name"]) for row in saved] == [
        ("coupled", "pipeline: admission (202)"),
        ("cap", "drain time vs peak / C"),
    ]


@pytest.mark.parametrize("document", ["README.md", "docs/benchmarks.md"])
def test_the_committed_block_parses_back_to_rows(document: str) -> None:
    text = (ROOT / document).read_text()
    block = text[text.index(START) + len(START) : text.index(END)]
    rows = parse_table(block)
    assert rows, f"{document}: the generated bench block holds no rows"
    for row in rows:
        assert row["row"]
        assert row["baseline"] != "-", f"{row['row']}: every row names its baseline"
        assert re.fullmatch(r"-|[\d,]+(\.\d)?", row["req/s"]), row
        assert re.fullmatch(r"\d+\.\d\dx \S+", row["ratio"]), row
