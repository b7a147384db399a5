"""`python -m bench.processors` stops with an error as soon as a worker it started has exited,
instead of waiting up to `WAIT_S_MAX` for records that will never come."""

import asyncio
import time

import pytest

from bench import processors as bench
from deploy.local import processes


async def test_a_worker_that_exited_ends_the_wait_at_once() -> None:
    never = asyncio.get_running_loop().create_future()
    started = time.monotonic()
    with pytest.raises(processes.ProcessExited, match="bench-no-such-worker exited before"):
        await bench.while_running(never, ["bench-no-such-worker"])
    assert time.monotonic() - started < bench.WAIT_S_MAX / 100
    assert never.cancelled()


async def test_the_outputs_are_returned_while_the_workers_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(processes, "running_pid", lambda name: 1)

    async def outputs() -> list[int]:
        await asyncio.sleep(0.01)
        return [1, 2, 3]

    assert await bench.while_running(outputs(), ["worker"]) == [1, 2, 3]
