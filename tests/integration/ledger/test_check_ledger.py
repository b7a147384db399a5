"""`loyalty-admin check-ledger` on the real Postgres, as a process: clean after real bookings,
then each kind of damage in a programme of its own (a scratch database, the append-only guard
bypassed as the tables' owner with its trigger disabled, here only) is reported by the right
check, with exit status 1; refusals are one line with exit status 2."""

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from deploy.local.settings import LocalSettings
from ledger.repository import fund_budget
from schemas.ledger import OutcomeStatus, Variety
from tests.conftest import TEST_DATABASE, fresh_database
from tests.integration.ledger.conftest import apply, create_programme, statuses
from tests.unit.ledger.fixtures import booking, command

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Run:
    status: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def scratch_url(postgres_server: LocalSettings) -> str:
    return fresh_database(postgres_server, f"{TEST_DATABASE}_check_ledger")


@pytest.fixture(scope="module")
async def pool(scratch_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(scratch_url, min_size=1, max_size=2) as pool:
        yield pool


async def check(database_url: str, *args: str) -> Run:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.admin.cli", "check-ledger", *args,
        env={**os.environ, "LOYALTY_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode())


async def book_a_bit_of_everything(pool: asyncpg.Pool, *, funded: bool = False) -> str:
    """Awards, a redemption, a transfer, a reversal, an event without points, a refusal."""
    prog = await create_programme(pool, funded=funded)
    if funded:
        async with pool.acquire() as conn:
            await fund_budget(conn, prog, 1_000, f"{prog}:fund")
    p2p = Variety.PERSON_TO_PERSON_TRANSFER
    outcomes = await apply(
        pool,
        command(f"{prog}-1", "alice", booking(f"{prog}-1:r", 100), programme_id=prog),
        command(f"{prog}-2", "bob", booking(f"{prog}-2:r", 40), programme_id=prog),
        command(
            f"{prog}-3", "alice",
            booking(f"{prog}-3", 30, debit=True, variety=Variety.REDEMPTION),
            programme_id=prog,
        ),
        command(
            f"{prog}-4", "alice",
            booking(f"{prog}-4", 20, debit=True, variety=p2p, counterparty="bob"),
            programme_id=prog,
        ),
        command(
            f"{prog}-5", "bob", booking(f"{prog}-5", 15, debit=True, reverses=f"{prog}-2:r"),
            programme_id=prog,
        ),
        command(f"{prog}-6", "carol", programme_id=prog),
        command(f"{prog}-7", "carol", booking(f"{prog}-7", 1, debit=True), programme_id=prog),
    )  # fmt: skip
    assert statuses(outcomes) == [OutcomeStatus.BOOKED] * 6 + [OutcomeStatus.REJECTED]
    return prog


async def tamper(pool: asyncpg.Pool, table: str, trigger: str, statement: str) -> None:
    """What the append-only guard refuses, done anyway as the table's owner: tests only."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f"ALTER TABLE ledger.{table} DISABLE TRIGGER {trigger}")
        await conn.execute(statement)
        await conn.execute(f"ALTER TABLE ledger.{table} ENABLE TRIGGER {trigger}")


async def account_id(pool: asyncpg.Pool, prog: str, kind: str, owner: str = "") -> int:
    found: int = await pool.fetchval(
        """SELECT account_id FROM ledger.accounts
           WHERE programme_id = $1 AND kind = $2 AND owner_id = $3""",
        prog,
        kind,
        owner,
    )
    return found


def section(run: Run, check: str) -> list[str]:
    """The check's line and its examples."""
    lines = run.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{check}:"))
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith("  ")), len(lines)
    )
    return lines[start:end]


async def test_a_ledger_of_real_bookings_is_clean(scratch_url: str, pool: asyncpg.Pool) -> None:
    unfunded = await book_a_bit_of_everything(pool)
    funded = await book_a_bit_of_everything(pool, funded=True)
    whole = await check(scratch_url)
    assert (whole.status, whole.stderr) == (0, ""), whole
    assert whole.stdout.splitlines()[-1] == "clean"
    for check_name in ("balances", "double entry", "outcomes", "floors"):
        assert section(whole, check_name) == [f"{check_name + ':':<14}ok"]
    for prog in (unfunded, funded):
        scoped = await check(scratch_url, "--programme", prog)
        assert scoped.status == 0, scoped
        assert scoped.stdout.startswith(f"ledger check of {prog}: ")


async def test_a_corrupted_cached_balance(scratch_url: str, pool: asyncpg.Pool) -> None:
    prog = await book_a_bit_of_everything(pool)
    alice = await account_id(pool, prog, "user", "alice")
    await pool.execute("UPDATE ledger.accounts SET balance = 57 WHERE account_id = $1", alice)
    run = await check(scratch_url, "--programme", prog)
    assert run.status == 1, run
    assert section(run, "balances") == [
        "balances:     1 mismatch",
        f"  account {alice} ({prog} user alice): cached balance 57, from its 3 entries 50, "
        "latest balance-after 50",
    ]
    assert section(run, "double entry") == [
        "double entry: 1 mismatch",
        f"  programme {prog}: its balances sum to 7 (from entries 0), not 0",
    ]
    assert section(run, "outcomes") == ["outcomes:     ok"]
    assert run.stdout.splitlines()[-1] == "2 mismatches"
    # The damage shows in the whole ledger's check too, and nowhere else.
    whole = await check(scratch_url)
    assert whole.status == 1
    assert f"account {alice} ({prog} user alice)" in whole.stdout


async def test_a_deleted_entry(scratch_url: str, pool: asyncpg.Pool) -> None:
    prog = await book_a_bit_of_everything(pool)
    await tamper(
        pool, "entries", "entries_append_only",
        f"DELETE FROM ledger.entries WHERE idempotency_key = '{prog}-3'",
    )  # fmt: skip
    run = await check(scratch_url, "--programme", prog)
    assert run.status == 1, run
    alice = await account_id(pool, prog, "user", "alice")
    redeemed = await account_id(pool, prog, "redeemed")
    assert section(run, "balances")[0] == "balances:     3 mismatches"
    assert (
        f"  account {alice} ({prog} user alice): cached balance 50, from its 2 entries 80, "
        "latest balance-after 50"
    ) in section(run, "balances")
    assert f"  account {redeemed} ({prog} redeemed): cached balance 30, from its 0 entries 0" in (
        section(run, "balances")
    )
    # Alice's later transfer's balance-after no longer follows from the entry before it.
    assert any(
        "1 entries' balance-after does not follow" in line for line in run.stdout.split("\n")
    )
    assert section(run, "outcomes") == [
        "outcomes:     1 mismatch",
        f"  command {prog}-3 ({prog}) booked -30 points; its 0 entries move 0 on its user's "
        "account",
    ]


async def test_an_altered_entry(scratch_url: str, pool: asyncpg.Pool) -> None:
    prog = await book_a_bit_of_everything(pool)
    await tamper(
        pool, "entries", "entries_append_only",
        f"UPDATE ledger.entries SET points = 120 WHERE idempotency_key = '{prog}-1:r'",
    )  # fmt: skip
    run = await check(scratch_url, "--programme", prog)
    assert run.status == 1, run
    assert section(run, "outcomes") == [
        "outcomes:     1 mismatch",
        f"  command {prog}-1 ({prog}) booked 100 points; its 1 entries move 120 on its user's "
        "account",
    ]
    # Alice's account and the budget: each a cached balance and a running balance broken.
    assert section(run, "balances")[0] == "balances:     4 mismatches"
    assert section(run, "double entry") == ["double entry: ok"]  # both legs moved by 120


async def test_entries_without_their_outcome(scratch_url: str, pool: asyncpg.Pool) -> None:
    prog = await book_a_bit_of_everything(pool)
    await tamper(
        pool, "command_outcomes", "command_outcomes_append_only",
        f"DELETE FROM ledger.command_outcomes WHERE command_id = '{prog}-4'",
    )  # fmt: skip
    run = await check(scratch_url, "--programme", prog)
    assert run.status == 1, run
    assert section(run, "outcomes") == [
        "outcomes:     1 mismatch",
        f"  1 entries of command {prog}-4 have no stored outcome",
    ]
    assert section(run, "balances") == ["balances:     ok"]


async def test_a_funded_budget_below_zero(scratch_url: str, pool: asyncpg.Pool) -> None:
    """An unfunded programme's budget goes negative by design; once the programme says it is
    funded, that balance breaks its floor (the database checks floors per new entry only)."""
    prog = await book_a_bit_of_everything(pool)
    assert (await check(scratch_url, "--programme", prog)).status == 0
    await pool.execute("UPDATE programmes SET budget_mode = 'funded' WHERE programme_id = $1", prog)
    budget = await account_id(pool, prog, "budget")
    run = await check(scratch_url, "--programme", prog, "--examples", "0")
    assert run.status == 1, run
    assert section(run, "floors") == ["floors:       1 mismatch", "  ... and 1 more"]
    run = await check(scratch_url, "--programme", prog)
    assert section(run, "floors") == [
        "floors:       1 mismatch",
        f"  account {budget} ({prog} budget) is at -125 (cached -125, from entries -125); "
        "a funded programme's budget account never goes below zero",
    ]
    assert run.stdout.splitlines()[-1] == "1 mismatch"


async def test_refusals_are_one_line(scratch_url: str) -> None:
    unknown = await check(scratch_url, "--programme", "no-such-programme")
    assert (unknown.status, unknown.stdout) == (2, "")
    assert unknown.stderr == "error: unknown programme 'no-such-programme' (load its file first)\n"
    base = scratch_url.rsplit("/", 1)[0]
    absent = await check(f"{base}/{TEST_DATABASE}_no_such_database")
    assert absent.status == 2
    assert absent.stderr.count("\n") == 1
    assert "does not exist" in absent.stderr
    assert "Traceback" not in absent.stderr
