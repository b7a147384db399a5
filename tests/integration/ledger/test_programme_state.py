"""The programmes' state read for /metrics agrees with the journal: outstanding points are what
the users hold, budget left is what a funded budget holds, rule budgets what is left of them, and
the webhook backlog counts the deliveries waiting."""

import asyncio

import asyncpg
import pytest

from deploy.local.settings import LocalSettings
from gateway.webhooks import subscriptions
from ledger import programme_state
from ledger.programme_state import ProgrammeState, RuleBudget, StateReading
from ledger.repository import fund_budget
from schemas.ledger import Variety
from tests.integration.ledger.conftest import ProgrammeFactory, apply
from tests.unit.ledger.fixtures import booking, command

pytestmark = pytest.mark.integration


async def users_hold(pool: asyncpg.Pool, programme_id: str) -> int:
    held = await pool.fetchval(
        "SELECT sum(balance) FROM ledger.accounts WHERE programme_id = $1 AND kind = 'user'",
        programme_id,
    )
    return int(held)


def of(reading: StateReading, programme_id: str) -> ProgrammeState:
    (state,) = [state for state in reading.programmes if state.programme_id == programme_id]
    return state


async def test_a_funded_programme_shows_its_liability_and_what_its_budgets_have_left(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme(funded=True, rule_budgets={"launch": 100, "plain": None})
    async with ledger_pool.acquire() as conn:
        await fund_budget(conn, prog, 1_000, f"{prog}-funding")
    await apply(
        ledger_pool,
        command(f"{prog}:1", "alice", booking(f"{prog}-1", 60, rule="launch"), programme_id=prog),
        command(f"{prog}:2", "bob", booking(f"{prog}-2", 30, rule="plain"), programme_id=prog),
        command(
            f"{prog}:3",
            "alice",
            booking(f"{prog}-3", 20, debit=True, variety=Variety.REDEMPTION),
            programme_id=prog,
        ),
    )
    reading = await programme_state.read_consistently(ledger_pool)
    assert of(reading, prog) == ProgrammeState(prog, 70, 0, 910)
    assert await users_hold(ledger_pool, prog) == 70
    assert [rule for rule in reading.rule_budgets if rule.programme_id == prog] == [
        RuleBudget(prog, "launch", 40)
    ]


async def test_an_unfunded_programme_has_no_budget_to_run_out_and_new_ones_show_zero(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog, untouched = await new_programme(), await new_programme()
    await apply(
        ledger_pool,
        command(f"{prog}:1", "alice", booking(f"{prog}-1", 50), programme_id=prog),
        command(
            f"{prog}:2",
            "alice",
            booking(f"{prog}-2", 15, debit=True, variety=Variety.ACCOUNT_CLOSURE),
            programme_id=prog,
        ),
    )
    reading = await programme_state.read_consistently(ledger_pool)
    assert of(reading, prog) == ProgrammeState(prog, 35, 0, None)
    assert of(reading, untouched) == ProgrammeState(untouched, 0, 0, None)


async def test_the_backlog_counts_the_deliveries_still_waiting(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme()
    await subscriptions.create(
        ledger_pool, f"{prog}-hook", prog, "http://127.0.0.1:9/hook", ["points.awarded"]
    )
    await apply(
        ledger_pool, command(f"{prog}:1", "alice", booking(f"{prog}-1", 5), programme_id=prog)
    )
    await asyncio.sleep(0.2)
    await apply(
        ledger_pool, command(f"{prog}:2", "bob", booking(f"{prog}-2", 5), programme_id=prog)
    )
    reading = await programme_state.read_consistently(ledger_pool)
    state = of(reading, prog)
    assert state.webhook_backlog_deliveries == 2
    assert state.webhook_backlog_oldest_s >= 0.2
    await ledger_pool.execute(
        "UPDATE webhook_deliveries SET status = 'delivered' WHERE subscription_id = $1",
        f"{prog}-hook",
    )
    reading = await programme_state.read_consistently(ledger_pool)
    assert of(reading, prog).webhook_backlog_deliveries == 0


async def test_refresh_publishes_readings_until_stopped(postgres_url: str) -> None:
    published: list[StateReading | None] = []
    stop = asyncio.Event()
    refresh = asyncio.create_task(
        programme_state.refresh(postgres_url, 0.05, published.append, stop)
    )
    while len(published) < 2:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(refresh, 5)
    assert all(isinstance(reading, StateReading) for reading in published)


async def test_a_reading_that_fails_publishes_nothing_and_the_refresh_goes_on(
    postgres_server: LocalSettings,
) -> None:
    """A database without the ledger's tables: every reading fails."""
    published: list[StateReading | None] = []
    stop = asyncio.Event()
    url = postgres_server.database_url("postgres")
    refresh = asyncio.create_task(programme_state.refresh(url, 0.05, published.append, stop))
    while len(published) < 2:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(refresh, 5)
    assert set(published) == {None}
