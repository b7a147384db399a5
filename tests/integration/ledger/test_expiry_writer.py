"""Lifecycle commands through the real writer: read from Kafka between the users' commands,
run in chunks, their offsets stored with the run's last chunk; a malformed one and a reused id
are dead letters; a writer SIGKILLed in the middle of an expiry run, restarted, expires each lot
once."""

import asyncio
import signal
import time
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from ledger.check import check_ledger
from ledger.core.batch import IncomingCommand
from ledger.storage import load_offsets
from ledger.writer import open_writer
from schemas.ledger import LifecycleAction, LifecycleCommand, OutcomeStatus
from schemas.topics import programme_key
from tests.integration.ledger.conftest import apply
from tests.integration.ledger.kafka_helpers import produce, read_all, writer_settings
from tests.integration.ledger.test_crash import start_writer
from tests.integration.ledger.test_expiry import earn, expiring_programme
from tests.unit.ledger.fixtures import booking, command

pytestmark = pytest.mark.integration


def expire_record(prog: str, day: date, hour: int = 0) -> tuple[bytes, bytes]:
    lifecycle = LifecycleCommand(
        command_id=f"expire:{prog}:{day}",
        programme_id=prog,
        action=LifecycleAction.EXPIRE_POINTS,
        local_day=day,
        effective_at=datetime(day.year, day.month, day.day, hour, tzinfo=UTC),
    )
    return programme_key(prog), lifecycle.model_dump_json().encode()


async def test_the_writer_runs_lifecycle_commands_between_the_users_commands(
    kafka_bootstrap: str, postgres_url: str, ledger_pool: asyncpg.Pool
) -> None:
    prog = await expiring_programme(ledger_pool)
    await earn(ledger_pool, prog, "alice", 30, date(2026, 3, 1))  # due 2026-03-11
    settings = await writer_settings(kafka_bootstrap, postgres_url, lifecycle_chunk_accounts=1)
    spend = command(
        f"{prog}-spend", "alice", booking(f"{prog}-spend", 5, debit=True), programme_id=prog
    )
    award = command(f"{prog}-award", "bob", booking(f"{prog}-award", 4), programme_id=prog)
    malformed = (programme_key(prog), b'{"action": "expire_points", "command_id": "x"}')
    conflict = expire_record(prog, date(2026, 3, 11), hour=1)
    records: list[IncomingCommand | tuple[bytes, bytes]] = [
        award,
        expire_record(prog, date(2026, 3, 11)),
        malformed,
        conflict,
        spend,
    ]
    sent = await produce(kafka_bootstrap, settings.commands_topic, records)
    async with open_writer(settings) as writer:
        assert await writer.process_until_drained(deadline_s=60) == sent
    expired = await ledger_pool.fetchval(
        "SELECT count(*) FROM ledger.entries WHERE command_id = $1", f"expire:{prog}:2026-03-11"
    )
    assert expired == 1
    outcome = await ledger_pool.fetchrow(
        "SELECT status, points FROM ledger.command_outcomes WHERE command_id = $1",
        f"expire:{prog}:2026-03-11",
    )
    assert outcome is not None
    assert (outcome["status"], outcome["points"]) == (OutcomeStatus.BOOKED.value, 0)
    offsets = await load_offsets(ledger_pool, settings.consumer_group, settings.commands_topic)
    assert sum(offsets.values()) == sent
    letters = await read_all(kafka_bootstrap, settings.dead_letters_topic, expected=2)
    assert sorted(str(letter["reason"]) for letter in letters) == [
        "idempotency_conflict",
        "schema_violation",
    ]
    malformed_letter = next(each for each in letters if each["reason"] == "schema_violation")
    assert "local_day" in str(malformed_letter["error"])  # the lifecycle model's own errors
    async with ledger_pool.acquire() as conn:
        assert (await check_ledger(conn, prog)).ok


USERS = 3_000
CHUNK = 100


async def run_state(pool: asyncpg.Pool, command_id: str) -> tuple[int, bool]:
    row = await pool.fetchrow(
        """SELECT chunks, finished_at IS NOT NULL AS finished
           FROM ledger.lifecycle_runs WHERE command_id = $1""",
        command_id,
    )
    return (0, False) if row is None else (row["chunks"], row["finished"])


async def wait_for(pool: asyncpg.Pool, command_id: str, chunks: int, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        done, finished = await run_state(pool, command_id)
        if done >= chunks or finished:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{command_id}: not {chunks} chunks after {deadline_s} s")


@pytest.mark.slow
async def test_a_writer_killed_during_an_expiry_run_expires_each_lot_once(
    kafka_bootstrap: str, postgres_url: str, ledger_pool: asyncpg.Pool
) -> None:
    prog = await expiring_programme(ledger_pool)
    batch = [
        command(f"{prog}-{i}", f"u{i}", booking(f"{prog}-{i}", 1 + i % 50), programme_id=prog)
        for i in range(USERS)
    ]
    # Booked at the batch's time (today): a run for a day 30 days on finds every lot due.
    await apply(ledger_pool, *batch)
    settings = await writer_settings(kafka_bootstrap, postgres_url, lifecycle_chunk_accounts=CHUNK)
    day = date.today() + timedelta(days=30)
    command_id = f"expire:{prog}:{day}"
    await produce(kafka_bootstrap, settings.commands_topic, [expire_record(prog, day)])
    for kill_after in (3, 12):
        writer = start_writer(settings, LOYALTY_LIFECYCLE_CHUNK_ACCOUNTS=str(CHUNK))
        try:
            await wait_for(ledger_pool, command_id, kill_after, deadline_s=60)
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait(timeout=10)
        chunks, finished = await run_state(ledger_pool, command_id)
        assert not finished, "the run finished before the writer could be killed"
        assert chunks >= kill_after
    writer = start_writer(settings, LOYALTY_LIFECYCLE_CHUNK_ACCOUNTS=str(CHUNK))
    try:
        await wait_for(ledger_pool, command_id, USERS, deadline_s=120)
    finally:
        writer.send_signal(signal.SIGTERM)
        assert writer.wait(timeout=30) == 0
    rows = await ledger_pool.fetch(
        "SELECT user_id, points FROM ledger.entries WHERE command_id = $1", command_id
    )
    assert len(rows) == USERS
    assert len({row["user_id"] for row in rows}) == USERS
    assert sum(row["points"] for row in rows) == sum(1 + i % 50 for i in range(USERS))
    left = await ledger_pool.fetchval(
        """SELECT count(*) FROM ledger.accounts
           WHERE programme_id = $1 AND kind = 'user' AND balance <> 0""",
        prog,
    )
    assert left == 0
    offsets = await load_offsets(ledger_pool, settings.consumer_group, settings.commands_topic)
    assert sum(offsets.values()) == 1
    async with ledger_pool.acquire() as conn:
        assert (await check_ledger(conn, prog)).ok
