"""A SIGKILL of the scheduler during an expiry run expires each lot once, on the real services.

`loyalty-scheduler emit` sends a programme's days one by one inside the transaction that
records the last day sent. It is killed once the ledger writer has run the first of them (the
day a lot expires), while it is still sending the days after: its record rolls back, so the
scheduler started again sends those days again, and the writer, which has run some of them
already, expires nothing twice and skips no day. Time comes from the events' time and the
scheduler's day (`--through`), never from sleeping."""

import asyncio
import signal
import subprocess
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from deploy.local.settings import LocalSettings
from gateway.admin import api_keys
from schemas.ledger import Variety
from tests.e2e.conftest import (
    REPO,
    Credentials,
    RunTopics,
    entries_of,
    new_user,
    scheduler_command,
)
from tests.e2e.test_points_expiry import balance, earn, finished

pytestmark = pytest.mark.e2e
PROGRAMME = "e2e-expiry-crash"  # tests/e2e/programmes/e2e-expiry-crash.yaml
ZONE = ZoneInfo("Pacific/Auckland")
DAYS_AFTER = 1_000
"""Days the killed scheduler sends after the lots' days, one Kafka round trip each: the second
or more it spends sending them is when the kill lands (a scheduler that got through them all
fails the test, it does not pass). The writer needs tens of milliseconds for the first day."""
KILL_POLL_S = 0.01


@pytest.fixture
async def key(pool: asyncpg.Pool) -> str:
    issued = await api_keys.create(pool, PROGRAMME, "e2e-partner", "production")
    return issued.secret


async def last_day(pool: asyncpg.Pool) -> date | None:
    day: date | None = await pool.fetchval(
        "SELECT last_day FROM scheduler_days WHERE programme_id = $1", PROGRAMME
    )
    return day


async def today_sent(pool: asyncpg.Pool, today: date) -> date:
    """The session's running scheduler has sent the programme's local today (its rounds never
    go past it): the last day recorded."""
    deadline = asyncio.get_running_loop().time() + 30.0
    while (day := await last_day(pool)) is None or day < today:
        assert asyncio.get_running_loop().time() < deadline, f"today not sent: {day}"
        await asyncio.sleep(0.2)
    await finished(pool, f"expire:{PROGRAMME}:{today}")
    return day


async def run_finished(pool: asyncpg.Pool, command_id: str) -> None:
    """Until the writer has finished the run, looked for every `KILL_POLL_S`."""
    deadline = asyncio.get_running_loop().time() + 60.0
    async with pool.acquire() as conn:
        query = "SELECT finished_at IS NOT NULL FROM ledger.lifecycle_runs WHERE command_id = $1"
        while not await conn.fetchval(query, command_id):
            assert asyncio.get_running_loop().time() < deadline, f"{command_id} not run in 60 s"
            await asyncio.sleep(KILL_POLL_S)


async def test_a_scheduler_killed_while_its_days_expire_lots_expires_each_lot_once(
    system: tuple[LocalSettings, Credentials],
    session_topics: RunTopics,
    gateway: httpx.AsyncClient,
    key: str,
    pool: asyncpg.Pool,
) -> None:
    user_id = new_user()
    now = datetime.now(UTC)
    today = now.astimezone(ZONE).date()
    recorded = await today_sent(pool, today)
    # Due at the midnights that begin today + 1 and today + 3 (days_after_earning, 3 days).
    await earn(gateway, key, user_id, 30, now - timedelta(days=2))
    await earn(gateway, key, user_id, 50, now)
    first_due, second_due = today + timedelta(days=1), today + timedelta(days=3)
    first_id, second_id = f"expire:{PROGRAMME}:{first_due}", f"expire:{PROGRAMME}:{second_due}"
    through = second_due + timedelta(days=DAYS_AFTER)
    arguments, env = scheduler_command(system, session_topics, PROGRAMME, through)

    scheduler = await asyncio.create_subprocess_exec(
        *arguments, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        await run_finished(pool, first_id)  # the writer has expired the first lot
    finally:
        if scheduler.returncode is None:
            scheduler.send_signal(signal.SIGKILL)
        _, errors = await asyncio.wait_for(scheduler.communicate(), 30)
    assert scheduler.returncode == -signal.SIGKILL, errors
    # Killed inside its transaction: none of the days it sent is recorded as sent.
    assert await last_day(pool) == recorded, "the scheduler got through its days before the kill"
    assert (await entries_of(pool, PROGRAMME, user_id, Variety.POINTS_EXPIRY))[0] == (first_id, 30)

    again = await asyncio.to_thread(
        subprocess.run, arguments, cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    # It starts again from the first day not recorded: the days the killed one sent, again.
    assert again.stdout.startswith(f"sent {recorded + timedelta(days=1)}, "), again.stdout[:200]
    assert again.stdout.strip().endswith(str(through)), again.stdout[-200:]
    await finished(pool, f"expire:{PROGRAMME}:{through}", deadline_s=180.0)
    assert await last_day(pool) == through
    assert await entries_of(pool, PROGRAMME, user_id, Variety.POINTS_EXPIRY) == [
        (first_id, 30),
        (second_id, 50),
    ]
    assert await balance(gateway, key, user_id) == 0
    runs = await pool.fetchval(
        """SELECT count(*) FROM ledger.lifecycle_runs
           WHERE command_id LIKE $1 AND finished_at IS NOT NULL""",
        f"expire:{PROGRAMME}:%",
    )
    # Every day from today through `through` has run: none skipped.
    assert runs == (through - today).days + 1
