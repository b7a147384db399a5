"""The local Prometheus' configuration is docker compose's with local targets: one list of jobs."""

import socket
from pathlib import Path

import pytest
import yaml

from deploy.local import prometheus, services
from deploy.local.settings import LocalSettings


def test_every_job_scrapes_its_local_process() -> None:
    settings = LocalSettings(gateway_port=18080, processors_metrics_port=19102)
    config = prometheus.local_configuration(settings)
    targets = {
        job["job_name"]: [
            target for static in job["static_configs"] for target in static["targets"]
        ]
        for job in config["scrape_configs"]
    }
    assert targets == {
        name: [f"127.0.0.1:{port}"] for name, port in services.metrics_ports(settings).items()
    }
    assert config["rule_files"] == [str(prometheus.CONFIGURATION / "alerts.yml")]
    # Nothing but those: the compose scale profile's twins are found by name only there.
    assert not any("dns_sd_configs" in job for job in config["scrape_configs"])


def test_every_service_is_a_job_of_the_compose_configuration() -> None:
    source = yaml.safe_load(prometheus.SOURCE.read_text())
    jobs = {job["job_name"] for job in source["scrape_configs"]}
    assert jobs == set(services.SERVICES) == set(services.metrics_ports(LocalSettings()))


def test_a_shorter_interval_is_for_scrapes_and_rules() -> None:
    config = prometheus.local_configuration(LocalSettings(), scrape_interval_s=0.5)
    assert config["global"]["scrape_interval"] == "500ms"
    assert config["global"]["evaluation_interval"] == "500ms"


def test_a_job_of_no_local_service_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "metrics_ports", lambda settings: {"gateway": 8080})
    with pytest.raises(RuntimeError, match=r"'processors' is no service of deploy\.local"):
        prometheus.local_configuration(LocalSettings())


def test_a_port_taken_by_another_server_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        settings = LocalSettings(prometheus_port=taken.getsockname()[1])
        with pytest.raises(RuntimeError, match="LOYALTY_LOCAL_PROMETHEUS_PORT"):
            prometheus.start(settings, name="unit-prometheus-port-taken", home=tmp_path)
    assert not (tmp_path / "prometheus.yml").exists()
