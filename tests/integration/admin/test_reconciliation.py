"""The console's periodic ledger reconciliation on the real Postgres (a scratch database of its
own, so that its rounds see only these programmes): every programme's checks as gauges, a
damaged ledger shown by programme and check until a later round finds it mended, and the rounds
repeated in the background until the console stops."""

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from prometheus_client import REGISTRY

from deploy.local.settings import LocalSettings
from gateway.admin.service import reconciliation
from tests.conftest import TEST_DATABASE, fresh_database
from tests.integration.ledger.conftest import create_programme
from tests.integration.ledger.test_check_ledger import account_id, book_a_bit_of_everything

pytestmark = pytest.mark.integration
CHECKS = ("balances", "double entry", "outcomes", "floors", "lots", "pending")


@pytest.fixture(scope="module")
async def pool(postgres_server: LocalSettings) -> AsyncIterator[asyncpg.Pool]:
    url = fresh_database(postgres_server, f"{TEST_DATABASE}_reconciliation")
    async with asyncpg.create_pool(url, min_size=1, max_size=3) as pool:
        yield pool


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
    reconciliation.publish(await reconciliation.reconcile(pool), time.time())
    assert mismatches(clean) == mismatches(unused) == dict.fromkeys(CHECKS, 0)
    # Her cached balance, and the programme's balances no longer summing to 0.
    assert mismatches(damaged) == dict.fromkeys(CHECKS, 0) | {"balances": 1, "double entry": 1}
    completed = REGISTRY.get_sample_value("loyalty_reconciliation_completed_timestamp_seconds")
    assert completed is not None
    assert completed >= before_s

    await pool.execute("UPDATE ledger.accounts SET balance = balance - 7 WHERE account_id = $1",
                       alice)  # fmt: skip
    await pool.execute("DELETE FROM programmes WHERE programme_id = $1", unused)
    reconciliation.publish(await reconciliation.reconcile(pool), time.time())
    assert mismatches(damaged) == mismatches(clean) == dict.fromkeys(CHECKS, 0)
    # A programme no longer stored has no series left.
    assert mismatches(unused) == dict.fromkeys(CHECKS, None)


async def test_rounds_repeat_in_the_background_until_the_console_stops(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    programme_id = await book_a_bit_of_everything(pool)
    rounds: list[float] = []
    second = asyncio.Event()
    published = reconciliation.publish

    def counted(checks: list[reconciliation.ProgrammeCheck], completed_at_s: float) -> None:
        rounds.append(completed_at_s)
        published(checks, completed_at_s)
        if len(rounds) == 2:
            second.set()

    monkeypatch.setattr(reconciliation, "publish", counted)
    async with reconciliation.reconciled(pool, interval_s=1.0):
        async with asyncio.timeout(30):
            await second.wait()
    stopped = len(rounds)
    await asyncio.sleep(1.5)
    assert len(rounds) == stopped
    assert mismatches(programme_id) == dict.fromkeys(CHECKS, 0)


async def test_a_failed_round_is_counted_and_the_next_one_runs(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    programme_id = await book_a_bit_of_everything(pool)
    real = reconciliation.reconcile
    calls: list[int] = []
    second = asyncio.Event()

    async def failing_once(pool: asyncpg.Pool) -> list[reconciliation.ProgrammeCheck]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in the first round")
        checks = await real(pool)
        second.set()
        return checks

    failures = REGISTRY.get_sample_value("loyalty_reconciliation_failures_total") or 0.0
    monkeypatch.setattr(reconciliation, "reconcile", failing_once)
    async with reconciliation.reconciled(pool, interval_s=1.0):
        async with asyncio.timeout(30):
            await second.wait()
    assert REGISTRY.get_sample_value("loyalty_reconciliation_failures_total") == failures + 1
    assert mismatches(programme_id) == dict.fromkeys(CHECKS, 0)
