"""The services as background processes, configured through the same LOYALTY_* variables that
docker-compose.yml sets."""

import sys
import time
import urllib.error
import urllib.request

from deploy.local import processes
from deploy.local.paths import REPO
from deploy.local.settings import LocalSettings

# The module `python -m` runs for each service (its console script's module), in start order.
MODULES = {
    "ledger": "ledger",
    "processors": "processors",
    "gateway": "gateway",
    "webhooks": "gateway.webhooks",
    "console": "gateway.admin.console",
    "scheduler": "scheduler",
    "shadow": "evidence.shadow",
}
SERVICES = tuple(MODULES)


def metrics_ports(settings: LocalSettings) -> dict[str, int]:
    """Where each service serves `/metrics`, by service name: also the name of its Prometheus
    job (deploy/prometheus/prometheus.yml), so a new service is added here and there."""
    return {
        "gateway": settings.gateway_port,
        "processors": settings.processors_metrics_port,
        "ledger": settings.ledger_metrics_port,
        "console": settings.console_port,
        "webhooks": settings.webhooks_metrics_port,
        "scheduler": settings.scheduler_metrics_port,
        "shadow": settings.shadow_metrics_port,
    }


def environment(
    settings: LocalSettings, service: str, database: str | None = None
) -> dict[str, str]:
    return {
        "LOYALTY_METRICS_PORT": str(metrics_ports(settings)[service]),
        "LOYALTY_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "LOYALTY_DATABASE_URL": settings.database_url(database),
        "LOYALTY_GATEWAY_HOST": "127.0.0.1",
        "LOYALTY_GATEWAY_PORT": str(settings.gateway_port),
        "LOYALTY_CONSOLE_HOST": "127.0.0.1",
        "LOYALTY_CONSOLE_PORT": str(settings.console_port),
        "LOYALTY_TOPIC_PARTITIONS": str(settings.kafka_partitions),
        "LOYALTY_PROCESSORS_DATA_DIR": str(REPO / ".local" / "processors"),
    }


def start_all(
    settings: LocalSettings,
    database: str | None = None,
    prefix: str = "",
    extra_env: dict[str, str] | None = None,
) -> list[str]:
    """Start each service that is not running; returns the names this call started. A `prefix`
    runs a second, separate set (tests) beside the one `./dev up` runs."""
    started = []
    for service in SERVICES:
        name = prefix + service
        if processes.running_pid(name) is None:
            env = environment(settings, service, database) | (extra_env or {})
            processes.start(name, command(service), env=env, cwd=REPO)
            started.append(name)
    return started


def start_gateway(
    settings: LocalSettings,
    name: str,
    port: int,
    database: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> int:
    """Start one more gateway instance as the process `name` on `port` (benchmarks and tests
    run several behind one partner); returns its pid. `wait_for(port, name)` waits for it."""
    env = environment(settings, "gateway", database) | (extra_env or {})
    env |= {"LOYALTY_GATEWAY_PORT": str(port), "LOYALTY_METRICS_PORT": str(port)}
    return processes.start(name, command("gateway"), env=env, cwd=REPO)


def command(service: str) -> list[str]:
    return [sys.executable, "-m", MODULES[service]]


def stop_all(prefix: str = "") -> None:
    for service in reversed(SERVICES):
        processes.stop(prefix + service)


def wait_for_gateway(settings: LocalSettings, prefix: str = "", timeout_s: float = 60.0) -> float:
    return wait_for(settings.gateway_port, "gateway", prefix, timeout_s)


def wait_for_console(settings: LocalSettings, prefix: str = "", timeout_s: float = 60.0) -> float:
    return wait_for(settings.console_port, "console", prefix, timeout_s)


def wait_for(port: int, service: str, prefix: str = "", timeout_s: float = 60.0) -> float:
    """Seconds until the service answers its `/healthz`."""
    started = time.monotonic()
    url = f"http://127.0.0.1:{port}/healthz"
    while time.monotonic() - started < timeout_s:
        processes.ensure_running(prefix + service, f"the {service}")
        try:
            with urllib.request.urlopen(url, timeout=1.0):
                return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise TimeoutError(f"{service} not answering {url} after {timeout_s}s")
