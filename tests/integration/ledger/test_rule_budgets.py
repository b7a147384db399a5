"""Rule budgets held by the ledger: read from the stored snapshot, enforced under a row lock, exact
when several writers (or several processor workers' command streams) race for the last points."""

import asyncio

import asyncpg
import pytest

from deploy.db import MIGRATIONS
from ledger import queries
from ledger.core.batch import IncomingCommand
from ledger.db_types import Executor
from ledger.loading import load_programmes
from ledger.repository import Batch, apply_batch_with_retries
from ledger.settings import LedgerSettings
from ledger.writer import open_writer
from schemas.ledger import OutcomeStatus, RejectionReason
from tests.integration.ledger.conftest import (
    ProgrammeFactory,
    apply,
    assert_consistent,
    programme_config,
    statuses,
)
from tests.integration.ledger.kafka_helpers import produce, writer_settings
from tests.unit.ledger.fixtures import booking, command

pytestmark = pytest.mark.integration


async def usage(db: Executor, programme_id: str) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT rule_id, used_points FROM ledger.rule_budget_usage WHERE programme_id = $1",
        programme_id,
    )
    return {row["rule_id"]: row["used_points"] for row in rows}


async def awarded(pool: asyncpg.Pool, programme_id: str, rule_id: str) -> int:
    """Net points the rule's awards moved to users, from the journal."""
    total = await pool.fetchval(
        """SELECT coalesce(sum(e.points), 0)
                  - coalesce((SELECT sum(r.points) FROM ledger.entries r
                              JOIN ledger.entries o ON o.entry_id = r.reverses_entry_id
                              WHERE o.programme_id = $1 AND o.rule_id = $2), 0)
           FROM ledger.entries e
           WHERE e.programme_id = $1 AND e.rule_id = $2 AND e.reverses_entry_id IS NULL""",
        programme_id,
        rule_id,
    )
    return int(total)


async def test_the_policy_reads_rule_budgets_from_the_stored_snapshot(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    budgeted = await new_programme(rule_budgets={"r1": 100, "r2": None, "r3": 7})
    plain = await new_programme()
    no_budget = await new_programme(rule_budgets={"r1": None})
    async with ledger_pool.acquire() as conn, conn.transaction():
        _, policies = await load_programmes(conn, [budgeted, plain, no_budget])
    assert dict(policies[budgeted].rule_budgets) == {"r1": 100, "r3": 7}
    assert dict(policies[plain].rule_budgets) == {}
    assert dict(policies[no_budget].rule_budgets) == {}


@pytest.mark.parametrize("expect_new", [False, True])
async def test_awards_stop_at_the_budget_and_reversals_give_points_back(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory, expect_new: bool
) -> None:
    prog = await new_programme(rule_budgets={"r1": 100, "r2": None})
    outcomes = await apply(
        ledger_pool,
        command(f"{prog}-1", "alice", booking(f"{prog}-1:r1", 60, rule="r1"), programme_id=prog),
        command(
            f"{prog}-2",
            "bob",
            booking(f"{prog}-2:r2", 500, rule="r2"),
            booking(f"{prog}-2:r1", 41, rule="r1"),
            programme_id=prog,
        ),
        command(f"{prog}-3", "bob", booking(f"{prog}-3:r1", 40, rule="r1"), programme_id=prog),
        expect_new=expect_new,
    )
    assert statuses(outcomes) == [
        OutcomeStatus.BOOKED,
        OutcomeStatus.REJECTED,
        OutcomeStatus.BOOKED,
    ]
    assert outcomes[1].reason_code is RejectionReason.RULE_BUDGET_EXHAUSTED
    assert await usage(ledger_pool, prog) == {"r1": 100}
    assert await queries.get_balance(ledger_pool, prog, "bob") == 40
    stored = await queries.get_outcome(ledger_pool, f"{prog}-2")
    assert stored is not None
    assert stored.reason_code is RejectionReason.RULE_BUDGET_EXHAUSTED

    reversal = booking(f"{prog}-fix", 25, debit=True, reverses=f"{prog}-1:r1")
    more = booking(f"{prog}-4:r1", 25, rule="r1")
    outcomes = await apply(
        ledger_pool,
        command(f"{prog}-fix", "alice", reversal, programme_id=prog),
        command(f"{prog}-4", "carol", more, programme_id=prog),
        command(f"{prog}-5", "carol", booking(f"{prog}-5:r1", 1, rule="r1"), programme_id=prog),
        expect_new=expect_new,
    )
    assert statuses(outcomes) == [
        OutcomeStatus.BOOKED,
        OutcomeStatus.BOOKED,
        OutcomeStatus.REJECTED,
    ]
    assert await usage(ledger_pool, prog) == {"r1": 100}
    assert await awarded(ledger_pool, prog, "r1") == 100
    # Redelivered: nothing is counted twice.
    outcomes = await apply(
        ledger_pool,
        command(f"{prog}-4", "carol", more, programme_id=prog),
        command(f"{prog}-4b", "carol", more, programme_id=prog),
        expect_new=expect_new,
    )
    assert statuses(outcomes) == [OutcomeStatus.DUPLICATE] * 2
    assert await usage(ledger_pool, prog) == {"r1": 100}
    await assert_consistent(ledger_pool)


async def test_a_lower_budget_in_a_new_snapshot_applies_to_the_next_batch(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme(rule_budgets={"r1": 100})
    await apply(
        ledger_pool,
        command(f"{prog}-1", "alice", booking(f"{prog}-1:r1", 60, rule="r1"), programme_id=prog),
    )
    await ledger_pool.execute(
        "UPDATE programmes SET config = $2::jsonb, config_version = 2 WHERE programme_id = $1",
        prog,
        programme_config(rule_budgets={"r1": 50}),
    )
    [outcome] = await apply(
        ledger_pool,
        command(f"{prog}-2", "alice", booking(f"{prog}-2:r1", 1, rule="r1"), programme_id=prog),
    )
    assert outcome.reason == "Rule r1 has 0 of its 50 budget points left"


def _award_stream(prog: str, worker: str, count: int, points: int) -> list[IncomingCommand]:
    """One processor worker's commands: its own users, all awarding the shared rule r1."""
    return [
        command(
            f"{prog}-{worker}-{i}",
            f"{worker}-user-{i % 7}",
            booking(f"{prog}-{worker}-{i}:r1", points, rule="r1"),
            booking(f"{prog}-{worker}-{i}:r2", 1, rule="r2"),
            programme_id=prog,
        )
        for i in range(count)
    ]


async def _check_exactly_spent(pool: asyncpg.Pool, prog: str, budget: int, demand: int) -> None:
    assert await usage(pool, prog) == {"r1": budget}
    assert await awarded(pool, prog, "r1") == budget
    rejected = await pool.fetchval(
        """SELECT count(*) FROM ledger.command_outcomes
           WHERE programme_id = $1 AND reason_code = 'rule_budget_exhausted'""",
        prog,
    )
    assert rejected == (demand - budget) // 10
    # The refused commands booked nothing of their other rule either.
    assert await awarded(pool, prog, "r2") == budget // 10
    await assert_consistent(pool)


async def test_two_writers_racing_for_the_last_points_book_exactly_the_budget(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    """Batches of two streams applied concurrently on two connections, through the writer's
    own path (retries included): the usage row serialises them."""
    budget = 1_000
    prog = await new_programme(rule_budgets={"r1": budget})
    streams = [_award_stream(prog, worker, 80, 10) for worker in ("w1", "w2")]

    async def write(stream: list[IncomingCommand]) -> None:
        for start in range(0, len(stream), 4):
            batch = Batch(stream[start : start + 4], expect_new=True)
            await apply_batch_with_retries(ledger_pool, batch)

    await asyncio.gather(*(write(stream) for stream in streams))
    await _check_exactly_spent(ledger_pool, prog, budget, demand=2 * 80 * 10)


async def test_two_ledger_writers_on_two_command_streams_book_exactly_the_budget(
    kafka_bootstrap: str,
    postgres_url: str,
    ledger_pool: asyncpg.Pool,
    new_programme: ProgrammeFactory,
) -> None:
    """Two real writers (Kafka to Postgres), each draining its own topic of one worker's
    commands at the same time, small batches so that they interleave."""
    budget = 700
    prog = await new_programme(rule_budgets={"r1": budget})
    count = 60
    writers: list[LedgerSettings] = []
    for worker in ("w1", "w2"):
        settings = await writer_settings(kafka_bootstrap, postgres_url, batch_max_records=3)
        await produce(
            kafka_bootstrap, settings.commands_topic, _award_stream(prog, worker, count, 10)
        )
        writers.append(settings)

    async def drain(settings: LedgerSettings) -> int:
        async with open_writer(settings) as writer:
            return await writer.process_until_drained(deadline_s=90)

    processed = await asyncio.gather(*(drain(settings) for settings in writers))
    assert processed == [count, count]
    await _check_exactly_spent(ledger_pool, prog, budget, demand=2 * count * 10)


async def test_the_migration_starts_each_budgeted_rule_from_its_journal(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    """0030's backfill, run again on today's journal (in a transaction rolled back), finds the
    usage the writer keeps: awards of the rule net of their reversals."""
    prog = await new_programme(rule_budgets={"r1": 1_000, "r2": None})
    await apply(
        ledger_pool,
        command(f"{prog}-1", "alice", booking(f"{prog}-1:r1", 300, rule="r1"), programme_id=prog),
        command(f"{prog}-2", "bob", booking(f"{prog}-2:r1", 200, rule="r1"), programme_id=prog),
        command(f"{prog}-3", "bob", booking(f"{prog}-3:r2", 50, rule="r2"), programme_id=prog),
        command(
            f"{prog}-4",
            "bob",
            booking(f"{prog}-4", 120, debit=True, reverses=f"{prog}-2:r1"),
            programme_id=prog,
        ),
    )
    assert await usage(ledger_pool, prog) == {"r1": 380}
    migration = (MIGRATIONS / "0030_rule_budgets.sql").read_text()
    backfill = migration[migration.index("INSERT INTO ledger.rule_budget_usage") :]
    async with ledger_pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute("DELETE FROM ledger.rule_budget_usage")
            await conn.execute(backfill)
            backfilled = await usage(conn, prog)
        finally:
            await transaction.rollback()
    assert backfilled == {"r1": 380}
