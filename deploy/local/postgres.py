"""A PostgreSQL server from Debian's packages, with its data under `.local/postgres`.

Postgres refuses to run as root, so as root the server runs as the `postgres` system user that
Debian's package creates; as any other user it runs as that user."""

import os
import shutil
import subprocess
import time
from pathlib import Path

from deploy.local import apt, processes
from deploy.local.paths import LOCAL
from deploy.local.settings import LocalSettings

NAME = "postgres"
DATA = LOCAL / "postgres" / "data"
SOCKETS = LOCAL / "postgres" / "run"
PACKAGE = "postgresql"


def binaries() -> Path:
    """The newest installed server's bin folder; installs Debian's package when none is."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not found:
        _install_package()
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not found:
        raise RuntimeError("no PostgreSQL server found under /usr/lib/postgresql")
    return found[-1].parent


def _install_package() -> None:
    apt.install(PACKAGE, "PostgreSQL")


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _prepare_directories() -> None:
    DATA.parent.mkdir(parents=True, exist_ok=True)
    SOCKETS.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(DATA.parent, "postgres", "postgres")
        shutil.chown(SOCKETS, "postgres", "postgres")
        _allow_traversal(DATA.parent)


def _allow_traversal(path: Path) -> None:
    """The server user must be able to walk down to its data directory."""
    for parent in path.parents:
        if parent == Path("/"):
            break
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def init_cluster(settings: LocalSettings) -> None:
    if (DATA / "PG_VERSION").exists():
        return
    _prepare_directories()
    subprocess.run(
        _as_server_user([
            str(binaries() / "initdb"), "-D", str(DATA), "--username", settings.postgres_user,
            "--auth", "trust", "--encoding", "UTF8", "--locale", "C.UTF-8",
        ]),
        check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def start(settings: LocalSettings) -> bool:
    """Start the server unless it runs; True if this call started it."""
    if processes.running_pid(NAME) is not None or _adopt_postmaster():
        return False
    init_cluster(settings)
    # Local runs trade durability for speed nowhere: fsync stays on, as in production.
    options = [
        "-D", str(DATA), "-p", str(settings.postgres_port), "-k", str(SOCKETS),
        "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200",
        "-c", "shared_buffers=256MB", "-c", "wal_level=replica",
    ]  # fmt: skip
    processes.start(NAME, _as_server_user([str(binaries() / "postgres"), *options]))
    return True


def stop() -> bool:
    # SIGTERM is Postgres' "smart" shutdown; it waits for clients, so allow it time. The pid is
    # the postmaster's own (see `_adopt_postmaster`), not a process group's.
    _adopt_postmaster()
    return processes.stop(NAME, timeout_s=60.0, group=False)


def _adopt_postmaster() -> bool:
    """Record the running postmaster's own pid (from its `postmaster.pid`) as the server's: the
    process started is `runuser`, a wrapper that a SIGKILL leaves the server running without,
    so its pid is not the server's. True if a postmaster runs."""
    try:
        pid = int((DATA / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return False
    if not processes.alive(pid):
        return False
    processes.adopt(NAME, pid)
    return True


def wait_ready(settings: LocalSettings) -> float:
    started = time.monotonic()
    deadline = started + settings.postgres_ready_timeout_s
    while time.monotonic() < deadline:
        processes.ensure_running(NAME, "Postgres")
        if _accepting(settings):
            _adopt_postmaster()
            return time.monotonic() - started
        time.sleep(0.2)
    raise TimeoutError(f"Postgres not ready after {settings.postgres_ready_timeout_s}s")


def _accepting(settings: LocalSettings) -> bool:
    probe = [str(binaries() / "pg_isready"), "-h", "127.0.0.1", "-p", str(settings.postgres_port)]
    probe += ["-U", settings.postgres_user, "-d", "postgres"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def ensure_database(settings: LocalSettings, database: str) -> None:
    """Create `database` owned by the local user if it does not exist yet."""
    psql = [
        "psql", "-h", "127.0.0.1", "-p", str(settings.postgres_port),
        "-U", settings.postgres_user, "-d", "postgres", "-tAc",
    ]  # fmt: skip
    exists = subprocess.run(
        [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{database}'"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    if not exists:
        subprocess.run([*psql, f'CREATE DATABASE "{database}"'], check=True, capture_output=True)


def drop_database(settings: LocalSettings, database: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(settings.postgres_port), "-U",
         settings.postgres_user, "-d", "postgres", "-tAc",
         f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'],
        check=True, capture_output=True,
    )  # fmt: skip
