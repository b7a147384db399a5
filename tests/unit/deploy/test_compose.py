"""docker-compose.yml cannot run here (no Docker engine), so its wiring is checked against the code:
every LOYALTY_* variable is a field of that service's settings class, ports agree with the
settings and with Prometheus' targets, and the local runner sets only known variables too. The
`scale` profile's second instances are the first ones' twins, behind a balancer that reaches
them all."""

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from deploy.db import DatabaseSettings
from deploy.local import services
from deploy.local.settings import LocalSettings
from evidence.shadow.settings import ShadowSettings
from gateway.admin.cli import AdminSettings
from gateway.admin.console.settings import ConsoleSettings
from gateway.settings import GatewaySettings
from gateway.webhooks.settings import WebhookSettings
from ledger.settings import LedgerSettings
from processors.settings import ProcessorSettings
from scheduler.settings import SchedulerSettings

REPO = Path(__file__).resolve().parents[3]
SETTINGS: dict[str, list[type[BaseSettings]]] = {
    "gateway": [GatewaySettings],
    "processors": [ProcessorSettings],
    "ledger": [LedgerSettings],
    "console": [ConsoleSettings],
    "webhooks": [WebhookSettings],
    "scheduler": [SchedulerSettings],
    "shadow": [ShadowSettings],
    "migrate": [DatabaseSettings, AdminSettings],
}
# The `scale` profile's services, each the twin of a base one.
SCALE_TWINS = {"processors-2": "processors", "gateway-2": "gateway"}
BALANCER = "gateway-balancer"


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services_: dict[str, Any] = loaded["services"]
    return services_


def variables(settings_classes: list[type[BaseSettings]]) -> set[str]:
    names = set()
    for settings_class in settings_classes:
        prefix = settings_class.model_config.get("env_prefix", "")
        names |= {f"{prefix}{field}".upper() for field in settings_class.model_fields}
    return names


def test_services_are_all_there() -> None:
    expected = {"kafka", "postgres", "migrate", "gateway", "processors", "ledger", "prometheus"}
    expected.add("console")
    expected.add("grafana")
    expected.add("webhooks")
    expected.add("scheduler")
    expected.add("shadow")
    expected |= {*SCALE_TWINS, BALANCER}
    assert set(compose()) == expected


def test_only_the_scale_profile_adds_services() -> None:
    profiled = {name for name, service in compose().items() if "profiles" in service}
    assert profiled == {*SCALE_TWINS, BALANCER}
    assert all(compose()[name]["profiles"] == ["scale"] for name in profiled)


@pytest.mark.parametrize(("twin", "base"), sorted(SCALE_TWINS.items()))
def test_scale_twins_run_as_the_base_service_does(twin: str, base: str) -> None:
    """Same command and settings (so the processors worker joins the first one's consumer
    group), and no published port to clash with the first one's."""
    services_ = compose()
    for key in ("command", "environment", "build", "depends_on"):
        assert services_[twin][key] == services_[base][key], key
    assert services_[twin]["ports"] == []


def test_the_balancer_reaches_every_gateway_instance() -> None:
    balancer = compose()[BALANCER]
    (volume,) = balancer["volumes"]
    config = (REPO / volume.split(":")[0]).read_text()
    port = compose()["gateway"]["environment"]["LOYALTY_GATEWAY_PORT"]
    upstreams = set(re.findall(r"^\s*server\s+([\w.-]+:\d+)", config, re.MULTILINE))
    assert upstreams == {f"gateway:{port}", f"gateway-2:{port}"}
    assert set(balancer["depends_on"]) == {"gateway", "gateway-2"}
    (mapping,) = balancer["ports"]
    assert re.search(rf"listen\s+{mapping.split(':')[1]};", config)


@pytest.mark.parametrize(("twin", "base"), sorted(SCALE_TWINS.items()))
def test_prometheus_finds_the_scale_twins(twin: str, base: str) -> None:
    prometheus = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    (job,) = [job for job in prometheus["scrape_configs"] if job["job_name"] == base]
    (target,) = job["static_configs"][0]["targets"]
    assert job["dns_sd_configs"] == [
        {"names": [twin], "type": "A", "port": int(target.split(":")[1])}
    ]


@pytest.mark.parametrize("service", sorted(SETTINGS) + sorted(SCALE_TWINS))
def test_every_variable_is_a_settings_field(service: str) -> None:
    environment = compose()[service]["environment"]
    unknown = set(environment) - variables(SETTINGS[SCALE_TWINS.get(service, service)])
    assert not unknown, f"{service} sets variables no settings field reads: {unknown}"


@pytest.mark.parametrize("service", ["gateway", "processors", "ledger", "console", "scheduler"])
def test_services_reach_kafka_and_postgres_by_service_name(service: str) -> None:
    environment = compose()[service]["environment"]
    assert environment["LOYALTY_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    if service != "processors":
        assert "@postgres:5432/" in environment["LOYALTY_DATABASE_URL"]


def test_webhooks_reach_postgres_by_service_name() -> None:
    environment = compose()["webhooks"]["environment"]
    assert "@postgres:5432/" in environment["LOYALTY_DATABASE_URL"]


def published_port(service: str) -> int:
    (mapping,) = compose()[service]["ports"]
    host, container = mapping.split(":")
    assert host == container
    return int(container)


def test_ports_match_settings_and_prometheus_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    # Compose publishes the default ports: compare them with the settings' defaults, not with a
    # run on other ports (LOYALTY_LOCAL_KAFKA_PORT=… for a second checkout beside a running one).
    for name in [name for name in os.environ if name.startswith("LOYALTY_")]:
        monkeypatch.delenv(name)
    services_ = compose()
    ports = {
        "gateway": int(services_["gateway"]["environment"]["LOYALTY_GATEWAY_PORT"]),
        "processors": int(services_["processors"]["environment"]["LOYALTY_METRICS_PORT"]),
        "ledger": int(services_["ledger"]["environment"]["LOYALTY_METRICS_PORT"]),
        "console": int(services_["console"]["environment"]["LOYALTY_CONSOLE_PORT"]),
        "webhooks": int(services_["webhooks"]["environment"]["LOYALTY_METRICS_PORT"]),
        "scheduler": int(services_["scheduler"]["environment"]["LOYALTY_METRICS_PORT"]),
        "shadow": int(services_["shadow"]["environment"]["LOYALTY_METRICS_PORT"]),
    }
    assert ports["gateway"] == GatewaySettings().gateway_port
    assert ports["processors"] == ProcessorSettings().metrics_port
    assert ports["ledger"] == LedgerSettings().metrics_port
    assert ports["console"] == ConsoleSettings().console_port == LocalSettings().console_port
    assert ports["webhooks"] == WebhookSettings().metrics_port
    assert ports["webhooks"] == LocalSettings().webhooks_metrics_port
    assert ports["scheduler"] == SchedulerSettings().metrics_port
    assert ports["scheduler"] == LocalSettings().scheduler_metrics_port
    assert ports["shadow"] == ShadowSettings().metrics_port == LocalSettings().shadow_metrics_port
    for service, port in ports.items():
        assert published_port(service) == port
    prometheus = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"][0]
        for job in prometheus["scrape_configs"]
    }
    assert targets == {name: f"{name}:{port}" for name, port in ports.items()}


def test_local_runner_sets_only_known_variables() -> None:
    known = variables(
        [
            GatewaySettings,
            ProcessorSettings,
            LedgerSettings,
            WebhookSettings,
            ConsoleSettings,
            SchedulerSettings,
            ShadowSettings,
        ]
    )
    settings = LocalSettings()
    environments = [services.environment(settings, service) for service in services.SERVICES]
    unknown = {name for environment in environments for name in environment} - known
    assert not unknown, f"deploy/local/services.py sets unknown variables: {unknown}"
