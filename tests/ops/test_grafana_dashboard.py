"""config/grafana-dashboard.json: every expression names metrics the daemon exports, and every metric is shown."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import Metric

from arbitrage.db.session import Database
from arbitrage.exchanges.connector import ConnectorRegistry
from arbitrage.ops.metrics import REGISTRY
from arbitrage.ops.state_collector import DaemonStateCollector

DASHBOARD = Path(__file__).parents[2] / "config" / "grafana-dashboard.json"
METRIC_NAME = re.compile(r"\barbitrage_[a-z0-9_]+\b")
SERIES_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("_total",), "gauge": ("",)}


def exported_series() -> dict[str, str]:
    """Every series name the daemon's /metrics can carry → its metric family."""
    collector = DaemonStateCollector(Database("sqlite://"), ConnectorRegistry())
    families: list[Metric] = [*REGISTRY.collect(), *collector.collect()]
    return {family.name + suffix: family.name for family in families for suffix in SERIES_SUFFIXES[family.type]}


def panels() -> list[dict]:
    return [panel for panel in json.loads(DASHBOARD.read_text())["panels"] if panel["type"] != "row"]


def test_every_expression_names_an_exported_metric() -> None:
    series = exported_series()
    for panel in panels():
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            expr = target["expr"]
            names = METRIC_NAME.findall(expr)
            assert names, (panel["title"], expr)
            unknown = [name for name in names if name not in series]
            assert not unknown, f"{panel['title']}: {unknown} not exported"
            assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), expr


def test_every_exported_metric_is_on_the_dashboard() -> None:
    series = exported_series()
    shown = {series[name] for panel in panels() for target in panel["targets"]
             for name in METRIC_NAME.findall(target["expr"])}
    assert shown == set(series.values())


def test_panels_use_the_dashboard_variables_and_do_not_overlap() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    assert {"datasource", "exchange"} <= variables
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24, panel["title"]
        area = {(x, y) for x in range(box["x"], box["x"] + box["w"]) for y in range(box["y"], box["y"] + box["h"])}
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            for used in re.findall(r"\$(\w+)", json.dumps(panel["targets"])):
                assert used in variables or used.startswith("__"), (panel["title"], used)
