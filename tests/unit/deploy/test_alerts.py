"""Every alert links to its runbook, which says what it means, how to confirm it, what to do and
how to tell it is over; and every alert has rules tests (deploy/prometheus/tests, run by
promtool in tests/integration/deploy) where it fires and where it stays quiet."""

from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
PROMETHEUS = REPO / "deploy" / "prometheus"
RUNBOOKS = REPO / "deploy" / "runbooks"
SECTIONS = (
    "## What it means",
    "## How to confirm it",
    "## What to do",
    "## How to tell it is over",
)


def alerts() -> list[dict[str, Any]]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]


def rules_tests() -> list[dict[str, Any]]:
    """Every alert_rule_test item of every rules test file."""
    items = []
    for path in sorted((PROMETHEUS / "tests").glob("*.yml")):
        loaded = yaml.safe_load(path.read_text())
        assert loaded["rule_files"] == ["../alerts.yml"], path
        items += [item for test in loaded["tests"] for item in test.get("alert_rule_test", [])]
    return items


NAMES = [rule["alert"] for rule in alerts()]


@pytest.mark.parametrize("name", NAMES)
def test_the_alert_links_to_its_runbook_with_the_four_sections(name: str) -> None:
    (rule,) = [rule for rule in alerts() if rule["alert"] == name]
    assert rule["annotations"]["runbook_url"] == f"deploy/runbooks/{name}.md"
    page = (REPO / rule["annotations"]["runbook_url"]).read_text()
    assert page.startswith(f"# {name}\n")
    headings = [line for line in page.splitlines() if line.startswith("## ")]
    assert tuple(headings) == SECTIONS
    for section, following in zip(SECTIONS, (*SECTIONS[1:], None), strict=True):
        body = page.split(section, 1)[1]
        body = body if following is None else body.split(following, 1)[0]
        assert body.strip(), f"{name}: {section} is empty"


@pytest.mark.parametrize("name", NAMES)
def test_the_alert_is_tested_firing_and_quiet(name: str) -> None:
    cases = [item for item in rules_tests() if item["alertname"] == name]
    assert any(case["exp_alerts"] for case in cases), f"{name} never fires in a test"
    assert any(not case["exp_alerts"] for case in cases), f"{name} is never quiet in a test"


def test_every_runbook_and_rules_test_belongs_to_an_alert() -> None:
    pages = {path.stem for path in RUNBOOKS.glob("*.md")} - {"README"}
    assert pages == set(NAMES)
    tested = {item["alertname"] for item in rules_tests()}
    assert tested == set(NAMES)


def test_alert_names_are_unique() -> None:
    assert len(NAMES) == len(set(NAMES))
