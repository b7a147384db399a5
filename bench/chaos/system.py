"""The run's own Kafka, Postgres, services and webhook receiver, and the faults done to them.

Everything here lives in the state directory `LOYALTY_LOCAL_STATE_DIR` names (pid files, data,
logs) on free ports: the shared servers of `./dev infra` (9092, 5432) are never started, stopped
or signalled. Before any signal, the pid is checked to be one of this run's (`_ours`: its command
line or environment names the run's state directory)."""

import os
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from deploy import db
from deploy.local import kafka, paths, postgres, processes, services
from deploy.local.ports import free_port
from deploy.local.settings import LocalSettings

DATABASE = "loyalty_chaos"
SERVICES = ("ledger", "processors", "gateway", "webhooks")
RECEIVER = "receiver"
SERVERS = ("kafka", "postgres")
DOWN_S = 2.0  # how long a killed server stays down before it is started again
READY_S = 120.0


def private_settings() -> LocalSettings:
    """Free ports for everything; refuses to run in the shared state directory."""
    if paths.LOCAL.resolve() == paths.DEFAULT_LOCAL.resolve():
        raise RuntimeError(
            "the chaos run needs a state directory of its own (LOYALTY_LOCAL_STATE_DIR); "
            "run it as python -m bench.chaos"
        )
    settings = LocalSettings(
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        kafka_heap_mb=512,
        # A broker killed under load on a busy machine took longer than the default 90 s to
        # answer again (the 100,000-event run, which then ended without its checks).
        kafka_ready_timeout_s=READY_S * 3,
        postgres_ready_timeout_s=READY_S * 3,
        postgres_port=free_port(),
        gateway_port=free_port(),
        processors_metrics_port=free_port(),
        ledger_metrics_port=free_port(),
        webhooks_metrics_port=free_port(),
    )
    shared = LocalSettings.model_construct()
    if {settings.kafka_port, settings.postgres_port} & {shared.kafka_port, shared.postgres_port}:
        raise RuntimeError("a free port is the shared servers' port")
    return settings


class System:
    def __init__(self, settings: LocalSettings, service_env: dict[str, str]) -> None:
        self.settings = settings
        self.url = settings.database_url(DATABASE)
        self._service_env = service_env

    # -- starting ---------------------------------------------------------------------------

    def start_servers(self) -> None:
        kafka.start(self.settings)
        postgres.start(self.settings)
        postgres.wait_ready(self.settings)
        kafka.wait_ready(self.settings)
        kafka.create_topics(self.settings)
        postgres.ensure_database(self.settings, DATABASE)
        db.migrate(self.url)

    def start_receiver(self, port: int, record: Path) -> None:
        argv = [sys.executable, "-m", "bench.webhook_receiver", str(port), "0", str(record)]
        processes.start(RECEIVER, argv, cwd=paths.REPO)
        wait_answering(port, RECEIVER)

    def start_service(self, service: str) -> None:
        env = services.environment(self.settings, service, DATABASE) | self._service_env
        processes.start(service, services.command(service), env=env, cwd=paths.REPO)

    def wait_service(self, service: str) -> None:
        wait_answering(services.metrics_ports(self.settings)[service], service)

    def start_services(self) -> None:
        for service in SERVICES:
            self.start_service(service)
        for service in SERVICES:
            self.wait_service(service)

    def stopped_services(self) -> list[str]:
        return [s for s in SERVICES if processes.running_pid(s) is None]

    # -- faults -----------------------------------------------------------------------------

    def crash(self, kind: str) -> None:
        """SIGKILL `kind` (a service, "kafka" or "postgres") and start it again; returns once it
        answers."""
        if kind in SERVICES:
            _kill(kind)
            self.start_service(kind)
            self.wait_service(kind)
        elif kind == "kafka":
            _kill("kafka")
            time.sleep(DOWN_S)
            kafka.start(self.settings)
            kafka.wait_ready(self.settings)
        elif kind == "postgres":
            postmaster = _kill("postgres")
            _kill_children(postmaster)
            time.sleep(DOWN_S)
            postgres.start(self.settings)
            postgres.wait_ready(self.settings)
        else:
            raise ValueError(f"no such fault: {kind}")

    # -- stopping ---------------------------------------------------------------------------

    def stop(self) -> None:
        for name in (RECEIVER, *reversed(SERVICES)):
            pid = processes.running_pid(name)
            if pid is not None and _ours(pid):
                processes.stop(name)
        if (pid := processes.running_pid("kafka")) is not None and _ours(pid):
            kafka.stop()
        if (pid := processes.running_pid("postgres")) is not None and _ours(pid):
            postgres.stop()


def _kill(name: str) -> int:
    """SIGKILLs this run's process `name`; returns its pid once it is gone."""
    pid = processes.running_pid(name)
    if pid is None:
        raise RuntimeError(f"{name} is not running")
    if not _ours(pid):
        raise RuntimeError(f"pid {pid} ({name}) is not this run's: not signalled")
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while processes.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    paths.pid_file(name).unlink(missing_ok=True)
    return pid


def _kill_children(parent: int) -> None:
    """A postmaster killed leaves its backends running; they go too (a crash of the server)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent_pid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent_pid == parent:  # a child of this run's postmaster (checked) is this run's
            os.kill(int(entry.name), signal.SIGKILL)


def _ours(pid: int) -> bool:
    """The process's command line or environment names this run's state directory."""
    marker = str(paths.LOCAL).encode()
    for part in ("cmdline", "environ"):
        try:
            if marker in Path(f"/proc/{pid}/{part}").read_bytes():
                return True
        except OSError:
            continue
    return False


def wait_answering(port: int, name: str, timeout_s: float = READY_S) -> None:
    """Until an HTTP server answers on `port` (any status), while the process `name` runs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        processes.ensure_running(name)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1.0):
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise TimeoutError(f"{name} not answering on port {port} after {timeout_s}s")
