"""Background processes with pid files: start detached, find again, stop politely then firmly."""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from deploy.local.paths import log_file, pid_file

STOP_TIMEOUT_S = 30.0
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
"""The processes this one started, by pid: kept so that a running child's handle is not
collected (Python warns about a child it drops while it runs) and is reaped when it stops."""


class ProcessExited(RuntimeError):
    """A process started here is no longer running while it should be; the message names its
    log."""


def ensure_running(name: str, label: str | None = None, when: str = "while starting") -> None:
    """Raises `ProcessExited` if the process `name` no longer runs. `label`: how the message
    names it (its name by default); `when`: what it was doing."""
    if running_pid(name) is None:
        raise ProcessExited(f"{label or name} exited {when}; see {log_file(name)}")


def running_pid(name: str) -> int | None:
    path = pid_file(name)
    if not path.exists():
        return None
    pid = int(path.read_text().strip())
    if _alive(pid):
        return pid
    path.unlink(missing_ok=True)
    return None


def start(
    name: str, argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> int:
    """Start `argv` detached in its own session, logging to `.local/log/NAME.log`."""
    with log_file(name).open("ab") as log:
        process = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
    pid_file(name).write_text(str(process.pid))
    _CHILDREN[process.pid] = process
    return process.pid


def adopt(name: str, pid: int) -> None:
    """Record `pid` as the process `name` (a server that a wrapper we started has forked)."""
    pid_file(name).write_text(str(pid))


def stop(name: str, timeout_s: float = STOP_TIMEOUT_S, *, group: bool = True) -> bool:
    """SIGTERM the process group (or only the process, `group=False`), SIGKILL it after
    `timeout_s`. True if something was running."""
    pid = running_pid(name)
    if pid is None:
        return False
    send = _signal_group if group else _signal_process
    send(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        send(pid, signal.SIGKILL)
    pid_file(name).unlink(missing_ok=True)
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1)
    return True


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


def _signal_process(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def alive(pid: int) -> bool:
    """The process runs (and is not a zombie)."""
    return _alive(pid)


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        waited = 0  # not our child: fall through to the signal probe
    if waited == pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (FileNotFoundError, IndexError):
        return False


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a running process has used, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
