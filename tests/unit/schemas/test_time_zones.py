"""Local days come from the pinned `tzdata` package, whatever zone files the host has."""

import subprocess
import sys
from importlib.resources import files
from pathlib import Path

PROBE = """
import schemas, zoneinfo
from datetime import datetime, UTC
print(zoneinfo.TZPATH)
print(datetime(2026, 7, 1, 12, tzinfo=UTC).astimezone(zoneinfo.ZoneInfo("Europe/London")).hour)
"""


def test_a_host_copy_of_a_zone_is_not_read(tmp_path: Path) -> None:
    # A host whose copy of Europe/London is wrong (UTC's rules: no summer time). zoneinfo reads
    # the host's directories before the package, so without the pin winning, July noon UTC
    # would be 12 in London instead of 13.
    host = tmp_path / "zoneinfo"
    (host / "Europe").mkdir(parents=True)
    (host / "Europe" / "London").write_bytes(
        files("tzdata.zoneinfo").joinpath("Etc", "UTC").read_bytes()
    )
    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={"PYTHONTZPATH": str(host), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.splitlines() == ["()", "13"]
