"""The alert rules and the dashboard use exactly the metric names the processes export."""

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

# Imported for their side effect: each module registers its metrics.
import evidence.shadow.metrics  # noqa: F401
import gateway.admin.console.metrics
import gateway.admin.service.metrics
import gateway.admin.service.reconciliation
import gateway.metrics
import gateway.webhooks.metrics  # noqa: F401
import ledger.metrics  # noqa: F401
import processors.metrics  # noqa: F401
import scheduler.metrics  # noqa: F401

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
NAME = re.compile(r"\bloyalty_[a-z_]+")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def exported() -> set[str]:
    # A labelled metric has no samples until first used, so names come from the family's type.
    series = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    return {
        family.name + suffix
        for family in REGISTRY.collect()
        for suffix in series.get(family.type, ("",))
    }


def used_in_alerts() -> set[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return {n for group in rules["groups"] for r in group["rules"] for n in NAME.findall(r["expr"])}


def used_in_dashboard() -> set[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "loyalty.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    return {name for expr in exprs for name in NAME.findall(expr)}


def test_alerts_use_exported_names() -> None:
    assert used_in_alerts() - exported() == set()


def test_the_dashboard_uses_exported_names_and_shows_every_metric() -> None:
    names = exported()
    assert used_in_dashboard() - names == set()
    ours = {name for name in names if name.startswith("loyalty_")}
    families = {_family(name) for name in ours}
    shown = {_family(name) for name in used_in_dashboard()}
    assert families - shown == set(), "metrics no panel shows"


def _family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name
