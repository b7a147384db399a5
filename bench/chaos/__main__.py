"""`python -m bench.chaos`: 100,000 events for 2,000 users (`--events`, `--users` scale it down)
through the gateway and straight to `events.v1`, on a programme with a daily cap, a daily
frequency limit, a streak, a rule budget and pending points (a purchase's, released by a later
delivery naming it or by the scheduler's day once its window has ended; the day is sent once,
after every event is booked), with webhooks to a local receiver, while at seeded random moments
the gateway, the processors, the ledger writer and the webhooks process are SIGKILLed
(`--kills` times each) and started again, and the run's Kafka broker and Postgres are SIGKILLed
and started again once each. Then, from the outside: every accepted event (200 or 202) has
exactly one outcome, no refused one has any; every balance equals the engine's replay of the
user's events, and the pending awards released are the replay's; no cap, frequency limit or
budget was exceeded; `check-ledger` is clean; no webhook id stood for two outcomes; clients saw
only 200, 202, 429 and 503 (with Retry-After), no answer only while the gateway was down, and
nothing past the deadline. Ends with
`RESULT events=N lost=0 doubled=0 cap_violations=0 ledger_mismatches=0 ...`; exits 1 when a
check failed.

Kafka, Postgres and the services are this run's own, in a temporary state directory on free
ports (`LOYALTY_LOCAL_STATE_DIR`): the shared servers are never touched. This launcher makes the
directory, runs `bench.chaos.run` in it and afterwards kills, by the pids in the directory's pid
files, whatever the run left running; `--keep` keeps the directory (logs, data) for a look."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    arguments = sys.argv[1:]
    keep = "--keep" in arguments
    if keep:
        arguments.remove("--keep")
    if "-h" in arguments or "--help" in arguments:
        print(__doc__)
    state = Path(tempfile.mkdtemp(prefix="loyalty-chaos-"))
    env = os.environ | {"LOYALTY_LOCAL_STATE_DIR": str(state)}
    try:
        status = subprocess.run(
            [sys.executable, "-m", "bench.chaos.run", *arguments], env=env, check=False
        ).returncode
    finally:
        _kill_leftovers(state)
        if keep:
            print(f"state kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)
    raise SystemExit(status)


def _kill_leftovers(state: Path) -> None:
    """SIGKILL the processes whose pid files the run left, if they are the run's (their command
    line or environment names `state`), and a postmaster's backends with it."""
    marker = str(state).encode()
    for pid_file in sorted((state / "run").glob("*.pid")):
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            continue
        if not any(marker in _proc(pid, part) for part in ("cmdline", "environ")):
            continue
        children = [c for c in _all_pids() if _parent(c) == pid]
        for victim in (pid, *children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        print(f"killed {pid_file.stem} (pid {pid}), left running by the run", file=sys.stderr)
    time.sleep(0.5)


def _proc(pid: int, part: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/{part}").read_bytes()
    except OSError:
        return b""


def _all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _parent(pid: int) -> int:
    try:
        return int(_proc(pid, "stat").rsplit(b")", 1)[1].split()[1])
    except (IndexError, ValueError):
        return 0


if __name__ == "__main__":
    main()
