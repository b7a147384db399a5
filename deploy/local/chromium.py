"""Debian's Chromium for the console's browser tests (tests/e2e/console): Playwright drives it
instead of a browser of its own download, which this machine cannot fetch. Installed with
apt-get when absent, as Postgres and Prometheus are."""

from pathlib import Path

from deploy.local import apt

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
    apt.install(PACKAGE, "Chromium", recommends=False)
