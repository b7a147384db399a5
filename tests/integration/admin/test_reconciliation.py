"""The console's periodic ledger reconciliation on the real Postgres (a scratch database of its
own, so that its rounds see only these programmes): every programme's checks as gauges, a
damaged ledger shown by programme and check until a later round finds it mended, the rounds
repeated in the background until the console stops, and one round per interval however many
consoles run."""

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from prometheus_client import REGISTRY

from deploy.local.settings import LocalSettings
from gateway.admin.service import reconciliation
from ledger.reads import Connection
from tests.conftest import TEST_DATABASE, fresh_database
from tests.integration.ledger.conftest import create_programme
from tests.integration.ledger.test_check_ledger import account_id, book_a_bit_of_everything

pytestmark = pytest.mark.integration
CHECKS = ("balances", "double entry", "outcomes", "floors", "lots", "pending")


@pytest.fixture(scope="module")
def database_url(postgres_server: LocalSettings) -> str:
    return fresh_database(postgres_server, f"{TEST_DATABASE}_reconciliation")


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(database_url, min_size=1, max_size=3) as pool:
        yield pool


async def a_round(pool: asyncpg.Pool) -> None:
    """A round run now and its findings published, as a console would."""
    assert await reconciliation.round_if_due(pool, interval_s=0.0)
    last = await reconciliation.stored_round(pool)
    assert last is not None
    reconciliation.publish(last.found, last.completed_at_s)


async def rounds(pool: asyncpg.Pool) -> int:
    last = await reconciliation.stored_round(pool)
    return 0 if last is None else last.rounds


def mismatches(programme_id: str) -> dict[str, float | None]:
    return {
        check: REGISTRY.get_sample_value(
            "loyalty_reconciliation_mismatches", {"programme": programme_id, "check": check}
        )
        for check in CHECKS
    }


async def test_a_damaged_programme_is_shown_by_check_until_it_is_mended(
    pool: asyncpg.Pool,
) -> None:
    clean = await book_a_bit_of_everything(pool)
    unused = await create_programme(pool)
    damaged = await book_a_bit_of_everything(pool, funded=True)
    alice = await account_id(pool, damaged, "user", "alice")
    await pool.execute("UPDATE ledger.accounts SET balance = balance + 7 WHERE account_id = $1",
                       alice)  # fmt: skip

    before_s = time.time()
    await a_round(pool)
    assert mismatches(clean) == mismatches(unused) == dict.fromkeys(CHECKS, 0)
    # Her cached balance, and the programme's balances no longer summing to 0.
    assert mismatches(damaged) == dict.fromkeys(CHECKS, 0) | {"balances": 1, "double entry": 1}
    completed = REGISTRY.get_sample_value("loyalty_reconciliation_completed_timestamp_seconds")
    assert completed is not None
    assert completed >= before_s

    await pool.execute("UPDATE ledger.accounts SET balance = balance - 7 WHERE account_id = $1",
                       alice)  # fmt: skip
    await pool.execute("DELETE FROM programmes WHERE programme_id = $1", unused)
    await a_round(pool)
    assert mismatches(damaged) == mismatches(clean) == dict.fromkeys(CHECKS, 0)
    # A programme no longer stored has no series left.
    assert mismatches(unused) == dict.fromkeys(CHECKS, None)


async def test_rounds_repeat_in_the_background_until_the_console_stops(
    pool: asyncpg.Pool,
) -> None:
    programme_id = await book_a_bit_of_everything(pool)
    first = await rounds(pool)
    async with reconciliation.reconciled(pool, interval_s=1.0):
        async with asyncio.timeout(30):
            while await rounds(pool) < first + 2:  # noqa: ASYNC110  (polls the database)
                await asyncio.sleep(0.1)
        assert mismatches(programme_id) == dict.fromkeys(CHECKS, 0)
    stopped = await rounds(pool)
    await asyncio.sleep(2.5)
    assert await rounds(pool) == stopped


async def test_a_round_runs_only_when_due_and_not_while_another_console_runs_one(
    pool: asyncpg.Pool,
) -> None:
    await a_round(pool)
    done = await rounds(pool)
    assert not await reconciliation.round_if_due(pool, interval_s=3_600.0)  # the last is fresh
    async with pool.acquire() as other:  # another console, in the middle of a round
        await other.execute(
            "SELECT pg_advisory_lock(hashtextextended($1, 0))", reconciliation.LOCK_KEY
        )
        assert not await reconciliation.round_if_due(pool, interval_s=0.0)
        await other.execute(
            "SELECT pg_advisory_unlock(hashtextextended($1, 0))", reconciliation.LOCK_KEY
        )
    assert await rounds(pool) == done
    assert await reconciliation.round_if_due(pool, interval_s=0.0)
    assert await rounds(pool) == done + 1


async def test_two_consoles_run_one_round_per_interval_between_them(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """A round just stored, then two consoles at a 2 s interval for 5 s: a round starts only
    2 s after the last ended, so two at most finish between them. Without the lock and the
    stored round, each console would run one every 2 s."""
    await a_round(pool)
    before = await rounds(pool)
    async with (
        asyncpg.create_pool(database_url, min_size=1, max_size=2) as second,
        reconciliation.reconciled(pool, interval_s=2.0),
        reconciliation.reconciled(second, interval_s=2.0),
    ):
        await asyncio.sleep(5.0)
    assert 1 <= await rounds(pool) - before <= 2


async def test_a_failed_round_is_counted_and_the_next_one_runs(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    programme_id = await book_a_bit_of_everything(pool)
    real = reconciliation.reconcile
    calls: list[int] = []

    async def failing_once(conn: Connection) -> list[reconciliation.ProgrammeCheck]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in the first round")
        return await real(conn)

    failures = REGISTRY.get_sample_value("loyalty_reconciliation_failures_total") or 0.0
    before = await rounds(pool)
    monkeypatch.setattr(reconciliation, "reconcile", failing_once)
    async with reconciliation.reconciled(pool, interval_s=1.0):
        async with asyncio.timeout(30):
            while await rounds(pool) == before:  # noqa: ASYNC110  (polls the database)
                await asyncio.sleep(0.1)
            while mismatches(programme_id)["balances"] is None:  # noqa: ASYNC110
                await asyncio.sleep(0.1)  # the next tick publishes the stored round
    assert len(calls) >= 2
    assert REGISTRY.get_sample_value("loyalty_reconciliation_failures_total") == failures + 1
    assert mismatches(programme_id) == dict.fromkeys(CHECKS, 0)


async def test_a_database_away_before_a_round_starts_is_tried_again_at_the_next_tick(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a failed round: no round had started, and waiting an interval would leave the
    ledger unchecked for one more."""
    real = reconciliation.round_if_due
    tries: list[float] = []
    again = asyncio.Event()

    async def refused_once(
        pool: asyncpg.Pool, interval_s: float
    ) -> reconciliation.StoredRound | None:
        tries.append(time.monotonic())
        if len(tries) == 1:
            raise ConnectionRefusedError("the database is away")
        again.set()
        return await real(pool, interval_s)

    failures = REGISTRY.get_sample_value("loyalty_reconciliation_failures_total") or 0.0
    monkeypatch.setattr(reconciliation, "round_if_due", refused_once)
    async with reconciliation.reconciled(pool, interval_s=4.0):  # a tick of 1 s
        async with asyncio.timeout(30):
            await again.wait()
    assert tries[1] - tries[0] < 3.0
    assert REGISTRY.get_sample_value("loyalty_reconciliation_failures_total") == failures
