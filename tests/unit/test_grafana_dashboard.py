"""The provisioned Grafana dashboard (infra/grafana) against what the services export: every
PromQL query names families of flashsale/metric_catalog.py, every family is drawn, and
the provisioning files point where compose.yaml mounts the dashboards and the data source.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from flashsale.metric_catalog import CATALOG

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "infra" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "flashsale.json"
KINDS = {family.name: family.kind for family in CATALOG}
HISTOGRAM_SERIES = re.compile(r"_(bucket|sum|count)$")
# What PromQL writes next to metric names: the keywords between identifiers.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
KEYWORDS |= {"and", "or", "unless"}


def panels(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every panel, those inside rows included."""
    return [p for item in items for p in [item, *panels(item.get("panels", []))]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def expressions() -> list[str]:
    return [t["expr"] for p in panels(dashboard()["panels"]) for t in p.get("targets", [])]


def metric_names(expr: str) -> set[str]:
    """The metric names of a PromQL expression: what is left once label matchers, grouping
    labels, strings, ranges, function names, keywords and numbers are taken out."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\b[a-zA-Z_][a-zA-Z0-9_]*\s*\(", "(", text)  # functions and aggregations
    names = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", text)) - KEYWORDS
    return {n for n in names if not re.fullmatch(r"\d+[smhdwy]?|e\d+|Inf|NaN", n)}


def family_of(name: str) -> str:
    """The catalog family a series name belongs to (a histogram's _bucket/_sum/_count)."""
    base = HISTOGRAM_SERIES.sub("", name)
    if base != name and KINDS.get(base) == "histogram":
        return base
    return name


def test_the_parser_of_this_test_finds_the_names_and_only_them() -> None:
    expr = 'histogram_quantile(0.95, sum by (le, consumer) (rate(flashsale_batch_size_bucket{consumer="x"}[$__rate_interval])))'
    assert metric_names(expr) == {"flashsale_batch_size_bucket"}
    assert metric_names("sum(a_total) / on (job) group_left b_total offset 5m") == {
        "a_total",
        "b_total",
    }


@pytest.mark.parametrize("expr", expressions())
def test_every_query_names_only_catalog_families(expr: str) -> None:
    names = metric_names(expr)
    assert names, f"no metric in {expr!r}"
    unknown = {n for n in names if family_of(n) not in KINDS}
    assert unknown == set(), "not in flashsale/metric_catalog.py"
    for name in names:
        kind = KINDS[family_of(name)]
        assert kind != "histogram" or name != family_of(name), f"{name}: use _bucket/_sum/_count"
        if kind == "counter":
            assert re.search(rf"\b(rate|increase)\({name}\b", expr), f"{name}: a counter's rate"


def test_every_catalog_family_is_on_the_dashboard() -> None:
    drawn = {family_of(n) for expr in expressions() for n in metric_names(expr)}
    assert set(KINDS) - drawn == set()


def test_every_panel_reads_the_provisioned_data_source() -> None:
    sources = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    [source] = sources["datasources"]
    assert (source["type"], source["url"]) == ("prometheus", "http://prometheus:9090")
    for panel in panels(dashboard()["panels"]):
        if panel["type"] == "row":
            continue
        used = [panel["datasource"], *(t["datasource"] for t in panel["targets"])]
        assert all(d == {"type": "prometheus", "uid": source["uid"]} for d in used), panel["title"]


def test_compose_mounts_the_provisioning_and_the_dashboards_where_grafana_reads_them() -> None:
    grafana = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["grafana"]
    binds = [v.split(":") for v in grafana["volumes"] if v.startswith("./")]  # host:container:ro
    mounts = {host: container for host, container, *_ in binds}
    assert mounts["./infra/grafana/provisioning"] == "/etc/grafana/provisioning"
    providers = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "flashsale.yml").read_text()
    )
    [provider] = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == mounts["./infra/grafana/dashboards"]
    assert DASHBOARD.parent == ROOT / "infra" / "grafana" / "dashboards"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{mounts['./infra/grafana/dashboards']}/{DASHBOARD.name}"


def test_grafana_is_pinned_local_and_asks_for_no_password() -> None:
    grafana = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["grafana"]
    image, _, tag = grafana["image"].partition(":")
    assert image == "grafana/grafana" and re.fullmatch(r"\d+\.\d+\.\d+", tag)
    assert grafana["ports"] == ["127.0.0.1:3000:3000"]
    env = grafana["environment"]
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"  # nobody can edit, nobody logs in
    assert env["GF_AUTH_DISABLE_LOGIN_FORM"] == "true" and env["GF_AUTH_BASIC_ENABLED"] == "false"
