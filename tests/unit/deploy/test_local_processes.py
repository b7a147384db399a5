"""A process that should be running and is not is named with its log, in one error for every
caller that waits on one (the local servers, the services, the benchmarks' workers)."""

import pytest

from deploy.local import processes
from deploy.local.paths import log_file


def test_a_process_that_is_not_running_is_named_with_its_log() -> None:
    with pytest.raises(processes.ProcessExited) as raised:
        processes.ensure_running("no-such-service", "the no-such service")
    log = log_file("no-such-service")
    assert str(raised.value) == f"the no-such service exited while starting; see {log}"
    assert isinstance(raised.value, RuntimeError)  # what the callers caught before


def test_a_running_process_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes, "running_pid", lambda name: 4242)
    processes.ensure_running("gateway")
