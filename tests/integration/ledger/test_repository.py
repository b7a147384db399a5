import asyncio

import asyncpg
import pytest

from ledger import queries
from ledger.core.batch import IncomingCommand
from ledger.db_types import Connection
from ledger.queries import outcome_from_row
from ledger.repository import Batch, apply_batch, apply_batch_with_retries, fund_budget
from ledger.storage import load_offsets
from schemas.ledger import OutcomeStatus, RejectionReason, Variety
from schemas.notifications import NOTIFY_CHANNEL, Notified, read_notification
from tests.integration.ledger.conftest import (
    ProgrammeFactory,
    apply,
    assert_consistent,
    statuses,
)
from tests.unit.ledger.fixtures import booking, command

pytestmark = pytest.mark.integration


async def test_bookings_and_reads(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme()
    booked = await apply(
        ledger_pool,
        command("e1", "alice", booking("e1:r1", 100), programme_id=prog),
        command(
            "e2",
            "alice",
            booking("e2", 30, debit=True, variety=Variety.REDEMPTION),
            programme_id=prog,
        ),
        command(
            "e3",
            "alice",
            booking(
                "e3", 20, debit=True, variety=Variety.PERSON_TO_PERSON_TRANSFER, counterparty="bob"
            ),
            programme_id=prog,
        ),
        command("e4", "alice", programme_id=prog),
    )
    assert statuses(booked) == [OutcomeStatus.BOOKED] * 4
    assert await queries.get_balance(ledger_pool, prog, "alice") == 50
    assert await queries.get_balance(ledger_pool, prog, "bob") == 20
    history = await queries.list_transactions(ledger_pool, prog, "alice")
    assert [(t.value, t.balance) for t in history] == [(100, 100), (-30, 70), (-20, 50)]
    [received] = await queries.list_transactions(ledger_pool, prog, "bob")
    assert (received.value, received.transaction_type, received.balance) == (20, "Credit", 20)
    last = await queries.last_transaction(ledger_pool, prog, "alice")
    assert last is not None
    assert (last.balance, last.variety) == (50, "Person 2 Person Transfer")
    page = await queries.transactions_page(ledger_pool, prog, "alice", page=2, num_of_items=2)
    assert page.total_count == 3
    assert [t.value for t in page.transactions] == [-20]
    outcome = await queries.get_outcome(ledger_pool, "e4")
    assert outcome is not None
    assert (outcome.points, outcome.balance_after) == (0, 50)
    assert outcome.explanation == {"rules": ["e4"]}
    outcomes = await queries.get_outcomes(ledger_pool, ["e4", "e1", "e4", "never-booked"])
    assert outcomes == {"e1": await queries.get_outcome(ledger_pool, "e1"), "e4": outcome}
    await assert_consistent(ledger_pool)


async def test_duplicates_and_conflicts(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme()
    award = command("d1", "alice", booking("d1:r1", 5), programme_id=prog)
    changed = command("d1", "alice", booking("d1:r1", 6), programme_id=prog)
    assert statuses(await apply(ledger_pool, award, award)) == [
        OutcomeStatus.BOOKED,
        OutcomeStatus.DUPLICATE,
    ]
    assert statuses(await apply(ledger_pool, award, changed)) == [
        OutcomeStatus.DUPLICATE,
        OutcomeStatus.REJECTED,
    ]
    assert await queries.get_balance(ledger_pool, prog, "alice") == 5
    stored = await queries.get_outcome(ledger_pool, "d1")
    assert stored is not None
    assert stored.status is OutcomeStatus.BOOKED


async def test_a_funded_budget(ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory) -> None:
    prog = await new_programme(funded=True)
    async with ledger_pool.acquire() as conn:
        funded = await fund_budget(conn, prog, 100, f"{prog}:fund:1")
        again = await fund_budget(conn, prog, 100, f"{prog}:fund:1")
    assert (funded.status, again.status) == (OutcomeStatus.BOOKED, OutcomeStatus.DUPLICATE)
    async with ledger_pool.acquire() as conn:
        plan = await apply_batch(
            conn,
            Batch(
                [
                    command("f1", "alice", booking("f1", 80), programme_id=prog),
                    command("f2", "alice", booking("f2", 21), programme_id=prog),
                ]
            ),
        )
    codes = [p.outcome.reason_code for p in plan.outcomes]
    assert codes == [None, RejectionReason.PROGRAMME_BUDGET_EXHAUSTED]
    await assert_consistent(ledger_pool)


async def test_the_journal_is_append_only(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme()
    await apply(ledger_pool, command("a1", "alice", booking(f"{prog}:a1", 5), programme_id=prog))
    for statement in (
        "UPDATE ledger.entries SET points = 6",
        "DELETE FROM ledger.entries WHERE false",
        "TRUNCATE ledger.entries",
        "DELETE FROM ledger.command_outcomes",
        "UPDATE ledger.command_outcomes SET points = 1 WHERE false",
    ):
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await ledger_pool.execute(statement)
    for statement in (
        "DELETE FROM ledger.accounts WHERE false",
        "UPDATE ledger.accounts SET owner_id = 'mallory' WHERE false",
        "TRUNCATE ledger.accounts CASCADE",
    ):
        with pytest.raises(asyncpg.RaiseError, match="identity refused"):
            await ledger_pool.execute(statement)


async def _insert_entry(
    conn: Connection, prog: str, debit: int, credit: int, debit_after: int
) -> None:
    await conn.execute(
        """INSERT INTO ledger.entries (idempotency_key, payload_sha256, command_id, programme_id,
               transaction_type, variety, points, debit_account_id, credit_account_id,
               debit_balance_after, credit_balance_after, reason)
           VALUES ($1, $2, $1, $3, 'Debit', 'Programme Points', 6, $4, $5, $6, 6, 'by hand')""",
        f"{prog}:by-hand",
        bytes(32),
        prog,
        debit,
        credit,
        debit_after,
    )


async def test_the_database_refuses_a_negative_user_balance_and_unknown_accounts(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme()
    await apply(ledger_pool, command("n1", "alice", booking(f"{prog}:n1", 5), programme_id=prog))
    async with ledger_pool.acquire() as conn:
        user_id = await conn.fetchval(
            "SELECT account_id FROM ledger.accounts WHERE programme_id = $1 AND kind = 'user'", prog
        )
        budget_id = await conn.fetchval(
            "SELECT account_id FROM ledger.accounts WHERE programme_id = $1 AND kind = 'budget'",
            prog,
        )
        missing_id = await conn.fetchval("SELECT max(account_id) + 1 FROM ledger.accounts")
        with pytest.raises(asyncpg.CheckViolationError, match="user account"):
            await _insert_entry(conn, prog, user_id, budget_id, -1)
        with pytest.raises(asyncpg.ForeignKeyViolationError, match="does not exist"):
            await _insert_entry(conn, prog, user_id, missing_id, 0)


async def test_two_debits_racing_for_the_last_points(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme()
    await apply(ledger_pool, command("r0", "alice", booking(f"{prog}:r0", 10), programme_id=prog))
    racers = [
        Batch(
            [
                command(
                    f"race{i}",
                    "alice",
                    booking(f"{prog}:race{i}", 10, debit=True),
                    programme_id=prog,
                )
            ]
        )
        for i in range(2)
    ]
    plans = await asyncio.gather(*(apply_batch_with_retries(ledger_pool, b) for b in racers))
    statuses = sorted(plan.outcomes[0].outcome.status for plan in plans)
    assert statuses == [OutcomeStatus.BOOKED, OutcomeStatus.REJECTED]
    assert await queries.get_balance(ledger_pool, prog, "alice") == 0
    await assert_consistent(ledger_pool)


async def test_offsets_commit_with_the_batch_and_outcomes_are_notified(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme()
    notified: asyncio.Queue[Notified] = asyncio.Queue(maxsize=10)
    listener = await ledger_pool.acquire()

    def on_notify(*args: object) -> None:
        for item in read_notification(str(args[3])):
            notified.put_nowait(item)

    await listener.add_listener(NOTIFY_CHANNEL, on_notify)
    try:
        batch = Batch(
            [command(f"{prog}-o1", "alice", programme_id=prog)],
            "group-" + prog,
            {("topic", 0): 41, ("topic", 3): 7},
        )
        await apply_batch_with_retries(ledger_pool, batch)
        command_id, columns = await asyncio.wait_for(notified.get(), timeout=5)
        assert command_id == f"{prog}-o1"
        # The outcome travels with its id: the gateway answers without reading it back.
        assert columns is not None
        assert outcome_from_row(columns) == await queries.get_outcome(ledger_pool, command_id)
    finally:
        await listener.remove_listener(NOTIFY_CHANNEL, on_notify)
        await ledger_pool.release(listener)
    assert await load_offsets(ledger_pool, "group-" + prog, "topic") == {0: 41, 3: 7}


async def test_a_large_batch_is_announced_in_payloads_under_the_notify_limit(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme()
    payloads: list[str] = []
    listener = await ledger_pool.acquire()
    # Ids of the longest kind, with characters JSON escapes to six bytes each.
    ids = [f"{prog}-{i:04d}-" + "\x01" * 200 for i in range(60)]

    def on_notify(*args: object) -> None:
        payloads.append(str(args[3]))

    def notified_ids() -> list[str]:
        return sorted(i for payload in payloads for i, _ in read_notification(payload))

    await listener.add_listener(NOTIFY_CHANNEL, on_notify)
    try:
        commands = [
            command(command_id, f"user-{i}", programme_id=prog) for i, command_id in enumerate(ids)
        ]
        await apply_batch_with_retries(ledger_pool, Batch(commands))
        for _ in range(50):
            if notified_ids() == sorted(ids):
                break
            await asyncio.sleep(0.1)
    finally:
        await listener.remove_listener(NOTIFY_CHANNEL, on_notify)
        await ledger_pool.release(listener)
    assert notified_ids() == sorted(ids)
    assert len(payloads) > 1
    assert max(len(payload.encode()) for payload in payloads) < 8000


async def test_one_command_books_for_several_users_or_for_none(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    """Bookings naming their own users (a MyRewards sales-data request): every user's account is
    created, locked and credited in the command's one posting, with the entries journalled for
    their users; a funded budget too short for all of them refuses all of them."""
    prog = await new_programme(funded=True)
    async with ledger_pool.acquire() as conn:
        await fund_budget(conn, prog, 25, f"fund-{prog}")
    claims_id, short_id = f"claims-{prog}", f"short-{prog}"
    claims = [booking(f"{claims_id}:{i}", 10, user=user) for i, user in enumerate(("ann", "ben"))]
    [booked] = await apply(ledger_pool, command(claims_id, "ann", *claims, programme_id=prog))
    assert (booked.status, booked.points, booked.balance_after) == (OutcomeStatus.BOOKED, 10, 10)
    for user in ("ann", "ben"):
        [entry] = await queries.list_transactions(ledger_pool, prog, user)
        assert (entry.value, entry.balance, entry.user_id) == (10, 10, user)
    short = [booking(f"{short_id}:{i}", 3, user=u) for i, u in enumerate(("ann", "ben", "cat"))]
    [refused] = await apply(ledger_pool, command(short_id, "ann", *short, programme_id=prog))
    assert refused.reason_code is RejectionReason.PROGRAMME_BUDGET_EXHAUSTED
    balances = [await queries.get_balance(ledger_pool, prog, u) for u in ("ann", "ben", "cat")]
    assert balances == [10, 10, 0]
    stored_users = await ledger_pool.fetch(
        "SELECT user_id FROM ledger.entries WHERE command_id = $1 ORDER BY idempotency_key",
        claims_id,
    )
    assert [row["user_id"] for row in stored_users] == ["ann", "ben"]
    await assert_consistent(ledger_pool)


async def test_an_account_opened_by_another_writer_meanwhile_replans_the_batch(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    """A batch inserts its new accounts with their balances once planned; one that another
    transaction opened after the batch looked (here, by hand) makes the insert wait for it and
    then refuse it: the batch is rolled back and planned again with the account as stored."""
    prog = await new_programme()
    retries: list[BaseException] = []
    award = command(f"{prog}:c1", "carol", booking(f"{prog}:c1", 25), programme_id=prog)
    async with ledger_pool.acquire() as other, other.transaction():
        await other.execute(
            """INSERT INTO ledger.accounts (programme_id, kind, owner_id)
               VALUES ($1, 'user', 'carol')""",
            prog,
        )
        booking_task = asyncio.create_task(
            apply_batch_with_retries(ledger_pool, Batch([award]), on_retry=retries.append)
        )
        waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'"
        for _ in range(500):  # until the batch's insert waits for this transaction
            if await other.fetchval(waiting):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the batch never waited for the account being opened")
        assert not booking_task.done()
    plan = await booking_task
    assert statuses(planned.outcome for planned in plan.outcomes) == [OutcomeStatus.BOOKED]
    assert [type(exc).__name__ for exc in retries] == ["ConcurrentWriteError"]
    accounts = await ledger_pool.fetch(
        "SELECT balance FROM ledger.accounts WHERE programme_id = $1 AND owner_id = 'carol'", prog
    )
    assert [row["balance"] for row in accounts] == [25]
    await assert_consistent(ledger_pool)


async def test_a_batch_opens_new_accounts_at_their_balances_beside_known_ones(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    """New accounts are inserted with their planned balances (a refused command's user at 0),
    the accounts the batch found are updated, in one batch."""
    prog = await new_programme()

    def credit(name: str, user_id: str, points: int, *, debit: bool = False) -> IncomingCommand:
        key = f"{prog}:{name}"
        return command(key, user_id, booking(key, points, debit=debit), programme_id=prog)

    await apply(ledger_pool, credit("d0", "dave", 5))
    booked = await apply(
        ledger_pool,
        credit("d1", "dave", 10),
        credit("e1", "erin", 20),
        credit("f1", "frank", 30, debit=True),
    )
    assert statuses(booked) == [OutcomeStatus.BOOKED, OutcomeStatus.BOOKED, OutcomeStatus.REJECTED]
    rows = await ledger_pool.fetch(
        """SELECT owner_id, balance FROM ledger.accounts
           WHERE programme_id = $1 AND kind = 'user' ORDER BY owner_id""",
        prog,
    )
    assert [(row["owner_id"], row["balance"]) for row in rows] == [
        ("dave", 15),
        ("erin", 20),
        ("frank", 0),
    ]
    await assert_consistent(ledger_pool)
