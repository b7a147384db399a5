"""A real writer process is SIGKILLed several times while it books 50,000 commands; after the
last restart drains the topic, Postgres must equal an in-memory model: nothing lost, nothing
booked twice, every balance provable from its postings."""

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import asyncpg
import pytest

from ledger.check import check_ledger
from ledger.core.batch import IncomingCommand
from ledger.settings import LedgerSettings
from tests.integration.ledger.conftest import ProgrammeFactory
from tests.integration.ledger.kafka_helpers import produce, writer_settings
from tests.unit.ledger.fixtures import booking, command

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COMMANDS = 50_000
USERS = 500
KILLS = 4
REPO = Path(__file__).resolve().parents[3]


@dataclass
class Model:
    """Each user's commands stay in order (one partition), so the outcome is deterministic."""

    balances: dict[str, int] = field(default_factory=dict)
    credits: dict[str, tuple[str, int]] = field(default_factory=dict)
    reversed_points: dict[str, int] = field(default_factory=dict)
    booked: dict[str, bool] = field(default_factory=dict)
    entries: int = 0

    def credit(self, user: str, key: str, points: int) -> None:
        self.balances[user] = self.balances.get(user, 0) + points
        self.credits[key] = (user, points)
        self._book(key, True)

    def debit(self, user: str, key: str, points: int, reverses: str | None = None) -> None:
        allowed = self.balances.get(user, 0) >= points
        if reverses is not None:
            allowed &= self.reversed_points.get(reverses, 0) + points <= self.credits[reverses][1]
        if allowed:
            self.balances[user] -= points
            if reverses is not None:
                self.reversed_points[reverses] = self.reversed_points.get(reverses, 0) + points
        self._book(key, allowed)

    def _book(self, key: str, booked: bool) -> None:
        self.booked[key] = booked
        self.entries += booked


def generate(
    programme_id: str, seed: int, count: int = COMMANDS
) -> tuple[list[IncomingCommand], Model]:
    rng = random.Random(seed)
    model = Model()
    sent: list[IncomingCommand] = []
    user_credits: dict[str, list[str]] = {}
    for index in range(count):
        user = f"user-{rng.randrange(USERS)}"
        roll = rng.random()
        key = f"{programme_id}-{index}"
        if roll < 0.08 and sent:
            sent.append(sent[rng.randrange(len(sent))])  # a redelivery: booked once
            continue
        if roll < 0.13 and user_credits.get(user):
            target = rng.choice(user_credits[user])
            points = rng.randint(1, 60)
            model.debit(user, key, points, reverses=target)
            b = booking(key, points, debit=True, reverses=target)
        elif roll < 0.40:
            points = rng.randint(1, 150)
            model.debit(user, key, points)
            b = booking(key, points, debit=True)
        else:
            points = rng.randint(1, 100)
            model.credit(user, key, points)
            user_credits.setdefault(user, []).append(key)
            b = booking(key, points)
        sent.append(command(key, user, b, programme_id=programme_id))
    return sent, model


def start_writer(
    settings: LedgerSettings, log: IO[bytes] | None = None, **extra_env: str
) -> subprocess.Popen[bytes]:
    """`python -m ledger` for these settings, its log to `log` (None: dropped); `extra_env` adds
    or overrides its variables."""
    env = {
        **os.environ,
        "LOYALTY_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "LOYALTY_DATABASE_URL": settings.database_url,
        "LOYALTY_CONSUMER_GROUP": settings.consumer_group,
        "LOYALTY_COMMANDS_TOPIC": settings.commands_topic,
        "LOYALTY_DEAD_LETTERS_TOPIC": settings.dead_letters_topic,
        "LOYALTY_METRICS_PORT": "0",
        "LOYALTY_BATCH_MAX_RECORDS": "1000",
        **extra_env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ledger"],
        cwd=REPO,
        env=env,
        stderr=subprocess.DEVNULL if log is None else log,
    )


async def committed(pool: asyncpg.Pool, settings: LedgerSettings) -> int:
    total = await pool.fetchval(
        """SELECT coalesce(sum(next_offset), 0) FROM ledger.consumer_offsets
           WHERE consumer_group = $1""",
        settings.consumer_group,
    )
    return int(total)


async def wait_for_progress(
    pool: asyncpg.Pool, settings: LedgerSettings, beyond: int, deadline_s: float
) -> int:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        position = await committed(pool, settings)
        if position > beyond:
            return position
        await asyncio.sleep(0.05)
    raise TimeoutError(f"the writer made no progress beyond {beyond} in {deadline_s} s")


async def kill_repeatedly(pool: asyncpg.Pool, settings: LedgerSettings, total: int) -> int:
    rng = random.Random(7)
    kills = 0
    position = 0
    while kills < KILLS:
        writer = start_writer(settings)
        try:
            position = await wait_for_progress(pool, settings, position, deadline_s=60)
            await asyncio.sleep(rng.uniform(0.0, 0.6))
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait(timeout=10)
        kills += 1
        position = await committed(pool, settings)
        if position >= total:
            break
    return kills


async def test_sigkill_loses_nothing_and_doubles_nothing(
    kafka_bootstrap: str,
    postgres_url: str,
    ledger_pool: asyncpg.Pool,
    new_programme: ProgrammeFactory,
) -> None:
    prog = await new_programme()
    settings = await writer_settings(kafka_bootstrap, postgres_url)
    commands, model = generate(prog, seed=42)
    total = await produce(kafka_bootstrap, settings.commands_topic, commands)

    kills = await kill_repeatedly(ledger_pool, settings, total)
    assert kills == KILLS, "the writer finished before it could be killed often enough"
    writer = start_writer(settings)
    try:
        while await committed(ledger_pool, settings) < total:
            await wait_for_progress(
                ledger_pool, settings, await committed(ledger_pool, settings), 60
            )
    finally:
        writer.send_signal(signal.SIGTERM)
        assert writer.wait(timeout=30) == 0
    await assert_matches_model(ledger_pool, prog, model)


async def assert_matches_model(pool: asyncpg.Pool, programme_id: str, model: Model) -> None:
    balances = {
        row["owner_id"]: row["balance"]
        for row in await pool.fetch(
            """SELECT owner_id, balance FROM ledger.accounts
               WHERE programme_id = $1 AND kind = 'user'""",
            programme_id,
        )
    }
    assert balances == {user: b for user, b in model.balances.items() if user in balances}
    assert set(balances) == set(model.balances)
    entries = await pool.fetchval(
        "SELECT count(*) FROM ledger.entries WHERE programme_id = $1", programme_id
    )
    assert entries == model.entries
    rows = await pool.fetch(
        "SELECT command_id, status FROM ledger.command_outcomes WHERE programme_id = $1",
        programme_id,
    )
    statuses = {row["command_id"]: row["status"] for row in rows}
    expected = {key: "booked" if ok else "rejected" for key, ok in model.booked.items()}
    assert statuses == expected
    async with pool.acquire() as conn:
        report = await check_ledger(conn)
    assert report.ok, report
