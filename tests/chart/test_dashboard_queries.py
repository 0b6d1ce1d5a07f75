"""Every query of the Grafana dashboard shipped with the chart names metrics the code
exports (collected from the prometheus_client registries), so a renamed metric cannot
leave a panel silently empty."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from support.helm import CHART, FULL_VALUES, template

from whisperer.api.metrics import Metrics
from whisperer.operator.metrics import OperatorMetrics

DASHBOARD = CHART / "files" / "dashboards" / "alert-whisperer.json"
# Where the code's metrics live: one registry factory per component.
REGISTRIES: dict[str, Callable[[], CollectorRegistry]] = {
    "webhook": lambda: Metrics().registry,
    "operator": lambda: OperatorMetrics().registry,
}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "gauge": ("",),
    "info": ("_info",),
    "stateset": ("",),
    "unknown": ("",),
}
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "inf", "nan",
}  # fmt: skip


def exported() -> set[str]:
    """Every series name the code's registries expose."""
    names = set()
    for make in REGISTRIES.values():
        for family in make().collect():
            names |= {family.name + s for s in SUFFIXES[family.type]}
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, labels or keywords)."""
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', "", expr)  # strings
    text = re.sub(r"\$\{?\w+\}?", "", text)  # Grafana variables
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?", text):
        if match.group(2) or match.group(1) in KEYWORDS:
            continue  # a function or an aggregation, or a keyword
        names.add(match.group(1))
    return names


def panels(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for node in nodes:
        yield node
        yield from panels(node.get("panels", []))


DASH = json.loads(DASHBOARD.read_text())
QUERIES = [(p["title"], t["expr"]) for p in panels(DASH["panels"]) for t in p.get("targets", [])]


def test_the_dashboard_has_the_panels_the_issue_asks_for() -> None:
    titles = {p["title"] for p in panels(DASH["panels"])}
    for wanted in (
        "Webhook write latency",
        "503s (API server unavailable)",
        "Alerts accepted by format",
    ):
        assert wanted in titles
    for panel in panels(DASH["panels"]):
        if panel["type"] not in ("row", "text"):
            assert panel.get("targets"), f"{panel['title']} has no query"


@pytest.mark.parametrize(("title", "expr"), QUERIES, ids=[f"{t}: {e[:40]}" for t, e in QUERIES])
def test_every_query_names_only_exported_metrics(title: str, expr: str) -> None:
    names = metric_names(expr)
    assert names, f"{title}: no metric in {expr!r}"
    assert names - exported() == set(), f"{title}: {expr!r}"


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (format) (rate(a_total{reason="x,y"}[$__rate_interval]))', {"a_total"}),
        ("histogram_quantile(0.95, sum by (le) (rate(b_bucket[5m])))", {"b_bucket"}),
        ("sum(rate(c_total[1h])) / sum(rate(d_total[1h])) > 0.5", {"c_total", "d_total"}),
        ("e_gauge offset 5m and on (job) f", {"e_gauge", "f"}),
        ("max_over_time(g[10m:1m])", {"g"}),
    ],
)
def test_the_query_parser_finds_metric_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_a_misspelt_metric_is_caught() -> None:
    assert metric_names("rate(whisperer_webhook_request_total[5m])") - exported() == {
        "whisperer_webhook_request_total"
    }


def test_the_chart_ships_the_dashboard_in_a_configmap_grafana_loads() -> None:
    maps = [d for d in template("--values", str(FULL_VALUES)) if d["kind"] == "ConfigMap"]
    assert len(maps) == 1
    assert maps[0]["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(maps[0]["data"]["alert-whisperer.json"]) == DASH
