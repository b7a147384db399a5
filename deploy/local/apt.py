"""Installing a Debian package the local runner needs (PostgreSQL, Prometheus, Chromium) when it
is missing: as root, non-interactive; anyone else is told the command to run."""

import os
import subprocess


def install(package: str, what: str, *, recommends: bool = True) -> None:
    """`apt-get install` the package; `recommends=False` leaves out what it only recommends
    (e.g. Prometheus' node exporter, one more server on a fixed port)."""
    if os.geteuid() != 0:
        raise RuntimeError(f"{what} is not installed: run `sudo apt-get install {package}`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    options = [] if recommends else ["--no-install-recommends"]
    subprocess.run(["apt-get", "install", "-y", "-qq", *options, package], check=True, env=env)
