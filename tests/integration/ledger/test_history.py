"""The ledger's past on the real Postgres: balances as of an instant (one user's and a whole
programme's), a programme's transactions of a period, the booked keys an import reads back, and
an imported credit's expiry kept on its entry."""

from datetime import date, datetime

import asyncpg
import pytest

from ledger import reads
from schemas.ledger import Booking, OutcomeStatus, TransactionType, Variety
from tests.integration.ledger.conftest import ProgrammeFactory, apply, statuses
from tests.unit.ledger.fixtures import booking, command

pytestmark = pytest.mark.integration


async def _now(pool: asyncpg.Pool) -> datetime:
    # The database's clock: `recorded_at` is its transaction time, not this process's.
    instant = await pool.fetchval("SELECT clock_timestamp()")
    assert isinstance(instant, datetime)
    return instant


def spend(key: str, points: int) -> Booking:
    return booking(key, points, debit=True, variety=Variety.REDEMPTION)


async def test_balances_as_of_each_instant_and_transactions_of_a_period(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme()
    before = await _now(ledger_pool)
    first = await apply(ledger_pool, command("h1", "ann", booking("h1", 100), programme_id=prog))
    assert statuses(first) == [OutcomeStatus.BOOKED]
    after_first = await _now(ledger_pool)
    await apply(
        ledger_pool,
        command("h2", "ann", spend("h2", 30), programme_id=prog),
        command("h3", "bob", booking("h3", 7), programme_id=prog),
    )
    after_second = await _now(ledger_pool)
    await apply(ledger_pool, command("h4", "bob", spend("h4", 7), programme_id=prog))

    assert await reads.balance_as_of(ledger_pool, prog, "ann", before) == 0
    assert await reads.balance_as_of(ledger_pool, prog, "ann", after_first) == 100
    assert await reads.balance_as_of(ledger_pool, prog, "ann", after_second) == 70
    assert await reads.balance_as_of(ledger_pool, prog, "nobody", after_second) is None
    now = await _now(ledger_pool)
    assert await reads.balance_as_of(ledger_pool, prog, "bob", now) == await reads.find_balance(
        ledger_pool, prog, "bob"
    )

    async with ledger_pool.acquire() as conn:
        as_of_second = [b async for b in reads.balances_as_of(conn, prog, after_second)]
        as_of_now = [b async for b in reads.balances_as_of(conn, prog, now)]
        with_zero = [b async for b in reads.balances_as_of(conn, prog, now, include_zero=True)]
        nothing = [b async for b in reads.balances_as_of(conn, prog, before)]
        period = [
            e async for e in reads.transactions_between(conn, prog, after_first, after_second)
        ]
        everything = [e async for e in reads.transactions_between(conn, prog, before, now)]
        with pytest.raises(ValueError, match="ends"):
            _ = [e async for e in reads.transactions_between(conn, prog, now, before)]
    assert as_of_second == [("ann", 70), ("bob", 7)]
    assert as_of_now == [("ann", 70)]
    assert with_zero == [("ann", 70), ("bob", 0)]
    assert nothing == []
    assert [(e.idempotency_key, e.points, e.balance_after) for e in period] == [
        ("h2", 30, 70),
        ("h3", 7, 7),
    ]
    assert [e.idempotency_key for e in everything] == ["h1", "h2", "h3", "h4"]
    assert list(reads.JOURNAL_COLUMNS)[:3] == ["entry_id", "recorded_at", "occurred_at"]


async def test_an_expiry_is_kept_on_its_entry_and_booked_keys_read_back(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme()
    expiring = Booking(
        idempotency_key=f"bal:{prog}:1",
        transaction_type=TransactionType.CREDIT,
        variety=Variety.ADJUSTMENT,
        points=12,
        reason="Imported balance",
        expires_on=date(2031, 1, 31),
    )
    plain = booking(f"bal:{prog}:2", 5)
    outcomes = await apply(ledger_pool, command("x1", "cid", expiring, plain, programme_id=prog))
    assert statuses(outcomes) == [OutcomeStatus.BOOKED]
    stored = await ledger_pool.fetch(
        "SELECT idempotency_key, expires_on FROM ledger.entries WHERE programme_id = $1 "
        "ORDER BY entry_id",
        prog,
    )
    assert [tuple(row) for row in stored] == [
        (f"bal:{prog}:1", date(2031, 1, 31)),
        (f"bal:{prog}:2", None),
    ]
    found = await reads.booked_keys(ledger_pool, [f"bal:{prog}:1", f"bal:{prog}:2", "absent"])
    assert found == {
        f"bal:{prog}:1": reads.booking_digest(prog, "cid", expiring),
        f"bal:{prog}:2": reads.booking_digest(prog, "cid", plain),
    }
    # Another expiry is another payload: the same key is then a conflict, never booked twice.
    other = expiring.model_copy(update={"expires_on": date(2031, 2, 1)})
    assert reads.booking_digest(prog, "cid", other) != found[f"bal:{prog}:1"]
    again = await apply(ledger_pool, command("x2", "cid", other, programme_id=prog))
    assert statuses(again) == [OutcomeStatus.REJECTED]
    assert await reads.find_balance(ledger_pool, prog, "cid") == 17
    with pytest.raises(ValueError, match="at most"):
        await reads.booked_keys(ledger_pool, [str(i) for i in range(reads.KEYS_PER_QUERY_MAX + 1)])
