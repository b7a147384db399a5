"""`python -m bench.pipeline` measures what it says: every event decided into a command (none
dead-lettered), and the command, the state and the budget entries sent for each."""

import asyncio

from bench.pipeline import run


def test_the_pipeline_bench_decides_every_event_and_sends_its_outputs() -> None:
    cpu_s, dead, sent = asyncio.run(run(count=600, users=50, batch_size=200, seed=3))
    assert dead == 0
    assert cpu_s > 0
    assert sent > 600 * 500  # a command (about 1 KB) and a state for every event
