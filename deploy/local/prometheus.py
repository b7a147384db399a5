"""Prometheus from Debian's package, scraping the local processes, with its data under
`.local/prometheus`.

Its configuration is deploy/prometheus/prometheus.yml, the file docker-compose mounts, with each
job's target rewritten to 127.0.0.1 and the port the local runner gives that process
(`services.metrics_ports`): the jobs are listed once, in that file."""

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from deploy.local import apt, processes, services
from deploy.local.paths import LOCAL, REPO
from deploy.local.settings import LocalSettings

NAME = "prometheus"
PACKAGE = "prometheus"
HOME = LOCAL / "prometheus"
CONFIGURATION = REPO / "deploy" / "prometheus"
SOURCE = CONFIGURATION / "prometheus.yml"


def binary(name: str = "prometheus") -> str:
    """The path of `prometheus` or `promtool`; installs Debian's package when either is missing."""
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        _install_package()
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found after installing Debian's {PACKAGE} package")
    return found


def _install_package() -> None:
    # Without its recommended node exporter, which would be one more server on a fixed port.
    apt.install(PACKAGE, "Prometheus", recommends=False)
    _stop_packaged_instance()


def _stop_packaged_instance() -> None:
    """The package starts its own server on :9090 where services may start (systemd, or a
    System V init without a policy that refuses it): stop and disable it, ours runs instead."""
    if Path("/run/systemd/system").exists():
        subprocess.run(["systemctl", "disable", "--now", f"{PACKAGE}.service"], check=False)
    elif Path(f"/etc/init.d/{PACKAGE}").exists():
        subprocess.run(["service", PACKAGE, "stop"], check=False, capture_output=True)
        subprocess.run(["update-rc.d", PACKAGE, "disable"], check=False, capture_output=True)


def local_configuration(
    settings: LocalSettings, scrape_interval_s: float | None = None
) -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml for this machine: every job scrapes its process on
    127.0.0.1, rule files are found in deploy/prometheus, and the scrape and rule evaluation
    intervals may be shortened (tests)."""
    config: dict[str, Any] = yaml.safe_load(SOURCE.read_text())
    ports = services.metrics_ports(settings)
    for job in config["scrape_configs"]:
        port = ports.get(job["job_name"])
        if port is None:
            raise RuntimeError(f"{SOURCE}: job {job['job_name']!r} is no service of deploy.local")
        job["static_configs"] = [{"targets": [f"127.0.0.1:{port}"]}]
        job.pop("dns_sd_configs", None)  # the compose scale profile's twins
    config["rule_files"] = [str(CONFIGURATION / Path(name).name) for name in config["rule_files"]]
    if scrape_interval_s is not None:
        interval = f"{round(scrape_interval_s * 1000)}ms"
        config["global"].update(scrape_interval=interval, evaluation_interval=interval)
    return config


def start(
    settings: LocalSettings,
    name: str = NAME,
    home: Path = HOME,
    scrape_interval_s: float | None = None,
) -> bool:
    """Start the server unless it runs; True if this call started it. A `name` and `home` of its
    own run a second server (tests) beside the one `./dev up` runs."""
    if processes.running_pid(name) is not None:
        return False
    if _listening(settings.prometheus_port):
        raise RuntimeError(
            f"127.0.0.1:{settings.prometheus_port} is taken by another process (Debian's own "
            "prometheus service? `systemctl disable --now prometheus`); or choose another port "
            "with LOYALTY_LOCAL_PROMETHEUS_PORT"
        )
    home.mkdir(parents=True, exist_ok=True)
    config = home / "prometheus.yml"
    config.write_text(yaml.safe_dump(local_configuration(settings, scrape_interval_s)))
    argv = [
        binary("prometheus"),
        f"--config.file={config}",
        f"--storage.tsdb.path={home / 'data'}",
        f"--storage.tsdb.retention.time={settings.prometheus_retention}",
        f"--web.listen-address=127.0.0.1:{settings.prometheus_port}",
    ]
    processes.start(name, argv)
    return True


def stop(name: str = NAME) -> bool:
    return processes.stop(name)


def url(settings: LocalSettings) -> str:
    return f"http://127.0.0.1:{settings.prometheus_port}"


def wait_ready(settings: LocalSettings, name: str = NAME) -> float:
    """Block until the server reports ready (its storage is open); returns the seconds waited."""
    started = time.monotonic()
    deadline = started + settings.prometheus_ready_timeout_s
    while time.monotonic() < deadline:
        processes.ensure_running(name, "Prometheus")
        try:
            with urllib.request.urlopen(f"{url(settings)}/-/ready", timeout=1.0):
                return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise TimeoutError(f"Prometheus not ready after {settings.prometheus_ready_timeout_s}s")


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
    except OSError:
        return False
    return True
