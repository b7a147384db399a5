"""The scheduler on the real Postgres and Kafka: each programme's days are sent in order, once a
round has recorded them they are not sent again, a round that fails records nothing (the days
are sent again, never skipped), rounds and `loyalty-scheduler emit` take turns per programme,
and the command line refuses what it cannot do with one line and exit status 2."""

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import orjson
import pytest

from deploy.kafka_tools import create_topics
from scheduler.emitting import emit_due
from scheduler.running import connected, tick
from scheduler.settings import SchedulerSettings
from schemas.ledger import LifecycleAction, LifecycleCommand
from tests.integration.ledger.kafka_helpers import RUN, made_topics, read_all

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]
ACCRA = "Africa/Accra"


@pytest.fixture
async def settings(kafka_bootstrap: str, postgres_url: str) -> SchedulerSettings:
    topic = f"scheduler-commands-{RUN}-{uuid.uuid4().hex[:8]}"
    await create_topics(kafka_bootstrap, {topic: 2})
    made_topics.append(topic)
    return SchedulerSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=postgres_url,
        ledger_commands_topic=topic,
        scheduler_days_per_tick_max=3,
    )


@pytest.fixture
async def pool(postgres_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(postgres_url, min_size=1, max_size=3) as created:
        yield created


async def new_programme(pool: asyncpg.Pool, time_zone: str = ACCRA) -> str:
    programme_id = f"s-{uuid.uuid4().hex[:12]}"
    await pool.execute(
        """INSERT INTO programmes (programme_id, name, config, config_version)
           VALUES ($1, $1, $2::jsonb, 1)""",
        programme_id,
        orjson.dumps({"time_zone": time_zone}).decode(),
    )
    return programme_id


async def sent_commands(settings: SchedulerSettings, expected: int) -> list[LifecycleCommand]:
    values = await read_all(
        settings.kafka_bootstrap_servers, settings.ledger_commands_topic, expected, 5_000
    )
    return [LifecycleCommand.model_validate(value) for value in values]


async def test_days_go_out_in_order_once_and_a_failed_round_records_nothing(
    settings: SchedulerSettings, pool: asyncpg.Pool
) -> None:
    prog = await new_programme(pool)
    today = date(2026, 3, 10)
    async with connected(settings) as (conn_pool, send, _):
        first = await emit_due(conn_pool, send, prog, _zone(), today, 3)
        assert first.days == [today]  # first seen: from its today, its history not replayed
        assert (await emit_due(conn_pool, send, prog, _zone(), today, 3)).days == []

        async def broken(key: bytes, value: bytes) -> None:
            await send(key, value)
            raise OSError("the scheduler died before it recorded the day")

        later = today + timedelta(days=5)
        with pytest.raises(OSError, match="before it recorded"):
            await emit_due(conn_pool, broken, prog, _zone(), later, 3)
        caught_up = await emit_due(conn_pool, send, prog, _zone(), later, 3)
        assert caught_up.days == [today + timedelta(days=n) for n in (1, 2, 3)]  # bounded
        rest = await emit_due(conn_pool, send, prog, _zone(), later, 3)
        assert rest.days == [today + timedelta(days=n) for n in (4, 5)]
    # Each day is a release then an expiry; the failed round sent the first day's release.
    sent = await sent_commands(settings, 13)
    commands = [c for c in sent if c.action is LifecycleAction.RELEASE_POINTS]
    days = [command.local_day for command in commands]
    # The day sent before the failure is sent again, never skipped; in order per programme.
    assert days == [
        today,
        today + timedelta(days=1),
        *[today + timedelta(days=n) for n in range(1, 6)],
    ]
    assert {command.command_id for command in sent} == {
        f"{action}:{prog}:{today + timedelta(days=n)}"
        for n in range(6)
        for action in ("release", "expire")
    }


async def test_a_round_sends_every_programmes_local_today(
    settings: SchedulerSettings, pool: asyncpg.Pool
) -> None:
    east = await new_programme(pool, "Pacific/Auckland")
    west = await new_programme(pool, ACCRA)
    now = datetime(2026, 1, 10, 20, 0, tzinfo=UTC)  # the 11th in Auckland, the 10th in Accra
    async with connected(settings) as (conn_pool, send, _):
        rounds = await tick(conn_pool, send, settings, now)
    by_programme = {emitted.programme_id: emitted.days for emitted in rounds}
    assert by_programme[east] == [date(2026, 1, 11)]
    assert by_programme[west] == [date(2026, 1, 10)]


async def test_two_senders_take_turns_per_programme(
    settings: SchedulerSettings, pool: asyncpg.Pool
) -> None:
    prog = await new_programme(pool)
    today = date(2026, 3, 10)
    async with connected(settings) as (conn_pool, send, _):
        await emit_due(conn_pool, send, prog, _zone(), today, 3)
        through = today + timedelta(days=3)
        results = await asyncio.gather(
            *(emit_due(conn_pool, send, prog, _zone(), through, 3) for _ in range(2))
        )
    sent = sorted(day for emitted in results for day in emitted.days)
    assert sent == [today + timedelta(days=n) for n in (1, 2, 3)]


def run_cli(settings: SchedulerSettings, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LOYALTY_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "LOYALTY_DATABASE_URL": settings.database_url,
        "LOYALTY_LEDGER_COMMANDS_TOPIC": settings.ledger_commands_topic,
    }
    return subprocess.run(
        [sys.executable, "-m", "scheduler", *arguments],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_command_line_sends_a_programmes_days_and_refuses_with_one_line(
    settings: SchedulerSettings, pool: asyncpg.Pool
) -> None:
    prog = await new_programme(pool)
    future = (datetime.now(UTC) + timedelta(days=3)).date()
    unknown = await asyncio.to_thread(
        run_cli, settings, "emit", "--programme", "no-such", "--through", "2026-01-01"
    )
    assert (unknown.returncode, unknown.stderr) == (
        2,
        "loyalty-scheduler: unknown programme 'no-such'\n",
    )
    refused = await asyncio.to_thread(
        run_cli, settings, "emit", "--programme", prog, "--through", future.isoformat()
    )
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "--allow-future" in refused.stderr
    sent = await asyncio.to_thread(
        run_cli,
        settings,
        "emit",
        "--programme",
        prog,
        "--through",
        future.isoformat(),
        "--allow-future",
    )
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout == f"sent {future}\n"
    last = await pool.fetchval("SELECT last_day FROM scheduler_days WHERE programme_id = $1", prog)
    assert last == future
    bad = await asyncio.to_thread(
        run_cli, settings, "emit", "--programme", prog, "--through", "soon"
    )
    assert bad.returncode == 2
    assert "not a date" in bad.stderr


def _zone() -> ZoneInfo:
    return ZoneInfo(ACCRA)
