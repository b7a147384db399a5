"""Where local runtime state lives: everything under the ignored `.local/` and `.cache/` folders."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / ".local"
CACHE = REPO / ".cache"
LOGS = LOCAL / "log"
PIDS = LOCAL / "run"


def log_file(name: str) -> Path:
    LOGS.mkdir(parents=True, exist_ok=True)
    return LOGS / f"{name}.log"


def pid_file(name: str) -> Path:
    PIDS.mkdir(parents=True, exist_ok=True)
    return PIDS / f"{name}.pid"
