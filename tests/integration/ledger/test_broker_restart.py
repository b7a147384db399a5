"""A real writer process keeps running through a crash and restart of its Kafka broker, under
load (issue 19: in a chaos run the writer died on its own after the broker came back), and books
every command once: nothing lost, nothing doubled, every balance the model's.

The broker is the test's own (tests.integration.private_kafka), SIGKILLed while the writer books
the first half of the commands and started again after DOWN_S; the second half is produced once
it is back."""

import asyncio
import signal
import time
from pathlib import Path

import asyncpg
import pytest

from tests.integration.ledger.conftest import ProgrammeFactory
from tests.integration.ledger.kafka_helpers import produce, writer_settings
from tests.integration.ledger.test_crash import (
    assert_matches_model,
    committed,
    generate,
    start_writer,
    wait_for_progress,
)
from tests.integration.private_kafka import PrivateKafka

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COMMANDS = 20_000
DOWN_S = 20.0  # past the session timeout (6 s): the group forgets the writer, which joins again
DRAIN_S = 240.0


async def test_the_writer_books_on_through_a_broker_restart(
    postgres_url: str,
    ledger_pool: asyncpg.Pool,
    new_programme: ProgrammeFactory,
    tmp_path: Path,
) -> None:
    broker = PrivateKafka(tmp_path / "kafka")
    await asyncio.to_thread(broker.start)
    log = tmp_path / "writer.log"
    try:
        prog = await new_programme()
        settings = await writer_settings(broker.bootstrap, postgres_url)
        commands, model = generate(prog, seed=19, count=COMMANDS)
        half = len(commands) // 2
        total = await produce(broker.bootstrap, settings.commands_topic, commands[:half])
        with log.open("wb") as sink:
            writer = start_writer(settings, sink)
        try:
            await wait_for_progress(ledger_pool, settings, 0, deadline_s=60)
            broker.kill()
            await asyncio.sleep(DOWN_S)
            await asyncio.to_thread(broker.start)
            total += await produce(broker.bootstrap, settings.commands_topic, commands[half:])
            deadline = time.monotonic() + DRAIN_S
            while await committed(ledger_pool, settings) < total:
                assert writer.poll() is None, _tail(log)
                assert time.monotonic() < deadline, _tail(log)
                await asyncio.sleep(0.2)
            assert writer.poll() is None, _tail(log)
        finally:
            writer.send_signal(signal.SIGTERM)
            stopped = writer.wait(timeout=30)
        assert stopped == 0, _tail(log)
        await assert_matches_model(ledger_pool, prog, model)
    finally:
        broker.kill()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:]
