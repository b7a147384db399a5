"""Debian's Chromium for the console's browser tests (tests/e2e/console): Playwright drives it
instead of a browser of its own download, which this machine cannot fetch. Installed with
apt-get when absent, as Postgres and Prometheus are."""

import os
import subprocess
from pathlib import Path

PACKAGE = "chromium"
EXECUTABLE = Path("/usr/bin/chromium")
# Headless, and quiet: the machine's network is closed, and without these Chromium's background
# connections (updates, sync, field trials, QUIC probes) fail and slow it down.
ARGUMENTS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def executable() -> Path:
    """The browser's path; installs Debian's package when it is missing."""
    if not EXECUTABLE.exists():
        _install_package()
    if not EXECUTABLE.exists():
        raise RuntimeError(f"{EXECUTABLE} not found after installing Debian's {PACKAGE} package")
    return EXECUTABLE


def _install_package() -> None:
    if os.geteuid() != 0:
        raise RuntimeError(f"Chromium is not installed: run `sudo apt-get install {PACKAGE}`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", PACKAGE],
        check=True,
        env=env,
    )
