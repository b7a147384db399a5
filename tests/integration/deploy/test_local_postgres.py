"""The local runner tracks the Postgres server itself, not the `runuser` wrapper that started it
(as root): killing the wrapper must not make `./dev status` say "stopped" while the server runs."""

from pathlib import Path

import pytest

from deploy.local import postgres, processes
from deploy.local.settings import LocalSettings

pytestmark = pytest.mark.integration


def test_the_recorded_pid_is_the_postmasters(postgres_server: LocalSettings) -> None:
    postmaster = int((postgres.DATA / "postmaster.pid").read_text().split("\n", 1)[0])
    assert processes.running_pid(postgres.NAME) == postmaster
    command = Path(f"/proc/{postmaster}/cmdline").read_bytes().split(b"\0")
    assert Path(command[0].decode()).name == "postgres"
    assert str(postgres.DATA).encode() in command
