"""Prometheus' own checks of deploy/prometheus: both configurations (docker compose's and the one
the local runner writes) load, the alert rules parse, and every rules test passes
(`promtool test rules`). promtool comes with Debian's prometheus package, installed when missing
(`deploy.local.prometheus.binary`)."""

import subprocess
from pathlib import Path

import pytest
import yaml

from deploy.local import prometheus
from deploy.local.settings import LocalSettings

pytestmark = pytest.mark.integration
CONFIGURATION = prometheus.CONFIGURATION


def promtool(*arguments: str | Path) -> str:
    run = subprocess.run(
        [prometheus.binary("promtool"), *map(str, arguments)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_the_compose_configuration_loads_with_its_rules() -> None:
    assert "SUCCESS: 1 rule files found" in promtool("check", "config", prometheus.SOURCE)


def test_the_local_configuration_loads_with_its_rules(tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus.local_configuration(LocalSettings(), 1.0)))
    assert "SUCCESS: 1 rule files found" in promtool("check", "config", config)


def test_the_alert_rules_parse() -> None:
    assert "SUCCESS" in promtool("check", "rules", CONFIGURATION / "alerts.yml")


def test_every_rules_test_passes() -> None:
    tests = sorted((CONFIGURATION / "tests").glob("*.yml"))
    assert tests
    output = promtool("test", "rules", *tests)
    assert output.count("SUCCESS") == len(tests)
