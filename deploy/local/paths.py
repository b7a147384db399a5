"""Where local runtime state lives: everything under the ignored `.local/` and `.cache/` folders.

`LOYALTY_LOCAL_STATE_DIR` moves the state (servers' data, pid files, logs) elsewhere, read when
this module is imported: a run that starts servers of its own beside the shared ones (the chaos
benchmark, `bench.chaos`) sets it for its processes so that their pid files, data and logs are
not the shared servers'. Downloads (Kafka's jars) stay under the repository's `.local/`."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_LOCAL = REPO / ".local"
LOCAL = Path(os.environ.get("LOYALTY_LOCAL_STATE_DIR") or DEFAULT_LOCAL)
DOWNLOADS = DEFAULT_LOCAL
CACHE = REPO / ".cache"
LOGS = LOCAL / "log"
PIDS = LOCAL / "run"


def log_file(name: str) -> Path:
    LOGS.mkdir(parents=True, exist_ok=True)
    return LOGS / f"{name}.log"


def pid_file(name: str) -> Path:
    PIDS.mkdir(parents=True, exist_ok=True)
    return PIDS / f"{name}.pid"
