"""Returns on the real Postgres: the original found through its awards' keys, its amount in the
archive and the returns before in ledger.returns; Return entries reversing the awards; a
negative balance where the programme allows it, which check-ledger accepts; a pending award's
share cancelled from its pending lot first, never released."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import orjson
import pytest

from ledger.core.batch import IncomingCommand
from ledger.lifecycle import apply_lifecycle
from schemas.events import EventV1
from schemas.ledger import (
    Booking,
    LedgerCommand,
    Lineage,
    OutcomeStatus,
    PendingTerms,
    ReturnRequest,
    TransactionType,
    Variety,
)
from tests.integration.ledger.conftest import apply, assert_consistent
from tests.integration.ledger.test_pending import pending_of, release
from tests.unit.ledger.fixtures import booking, command

pytestmark = pytest.mark.integration

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


async def returning_programme(pool: asyncpg.Pool, spent_points: str) -> str:
    programme_id = f"p-{uuid.uuid4().hex[:12]}"
    config = {"returns": {"spent_points": spent_points}}
    await pool.execute(
        """INSERT INTO programmes (programme_id, name, budget_mode, config, config_version)
           VALUES ($1, $1, 'unfunded', $2::jsonb, 1)""",
        programme_id,
        orjson.dumps(config).decode(),
    )
    return programme_id


def purchase(
    prog: str, event_id: str, amount: int, points: int, pending: PendingTerms | None = None
) -> IncomingCommand:
    """A purchase's command as the processors send it: the event, and one award of rule r1
    (held back on `pending` terms if given)."""
    event = EventV1(
        event_id=event_id,
        programme_id=prog,
        user_id="alice",
        event_type="purchase",
        occurred_at=AT,
        metadata={"amount": amount},
    )
    award = Booking(
        idempotency_key=f"{event_id}:r1",
        transaction_type=TransactionType.CREDIT,
        variety=Variety.PROGRAMME_POINTS,
        points=points,
        reason="purchase earned with rule r1 v1",
        lineage=Lineage(source_event_id=event_id, rule_id="r1", rule_version=1, occurred_at=AT),
        pending=pending,
    )
    return IncomingCommand.of(
        LedgerCommand(
            command_id=event_id,
            programme_id=prog,
            user_id="alice",
            source_event_id=event_id,
            bookings=[award],
            explanation={"status": "awarded", "programme_version": 1},
            source_event=event,
        )
    )


def a_return(prog: str, event_id: str, original: str, amount: str) -> IncomingCommand:
    return IncomingCommand.of(
        LedgerCommand(
            command_id=event_id,
            programme_id=prog,
            user_id="alice",
            source_event_id=event_id,
            explanation={"status": "no_points", "programme_version": 1},
            returning=ReturnRequest(
                original_event_id=original,
                award_keys=[f"{original}:r1", f"{original}:r2"],
                field="amount",
                amount=Decimal(amount),
            ),
        )
    )


async def test_partial_returns_then_an_over_return_then_a_repeat(ledger_pool: asyncpg.Pool) -> None:
    prog = await returning_programme(ledger_pool, "shortfall")
    buy = f"{prog}-buy"
    await apply(ledger_pool, purchase(prog, buy, 100, 150))
    first, second = await apply(
        ledger_pool,
        a_return(prog, f"{prog}-r1", buy, "30"),
        a_return(prog, f"{prog}-r2", buy, "50"),
    )
    [over] = await apply(ledger_pool, a_return(prog, f"{prog}-r3", buy, "30"))
    [repeat] = await apply(ledger_pool, a_return(prog, f"{prog}-r1", buy, "30"))
    assert [first.points, second.points, over.points, repeat.points] == [-45, -75, 0, -45]
    assert repeat.status is OutcomeStatus.DUPLICATE
    assert isinstance(over.explanation, dict)
    assert over.explanation["reason_code"] == "over_return"
    rows = await ledger_pool.fetch(
        """SELECT e.variety, e.points, o.idempotency_key AS reverses
           FROM ledger.entries e JOIN ledger.entries o ON o.entry_id = e.reverses_entry_id
           WHERE e.programme_id = $1 AND e.variety = 'Return' ORDER BY e.entry_id""",
        prog,
    )
    assert [(r["variety"], r["points"], r["reverses"]) for r in rows] == [
        ("Return", 45, f"{buy}:r1"), ("Return", 75, f"{buy}:r1"),
    ]  # fmt: skip
    returned = await ledger_pool.fetch(
        "SELECT amount, points, shortfall FROM ledger.returns WHERE programme_id = $1 "
        "ORDER BY recorded_at, command_id",
        prog,
    )
    assert sorted((r["amount"], r["points"], r["shortfall"]) for r in returned) == [
        (Decimal(30), 45, 0), (Decimal(50), 75, 0),
    ]  # fmt: skip
    [unknown] = await apply(ledger_pool, a_return(prog, f"{prog}-r4", f"{prog}-nothing", "1"))
    assert isinstance(unknown.explanation, dict)
    assert (unknown.points, unknown.explanation["reason_code"]) == (0, "unknown_original")
    await assert_consistent(ledger_pool)


@pytest.mark.parametrize(
    ("spent_points", "points", "balance"), [("shortfall", -20, 0), ("negative_balance", -100, -80)]
)
async def test_spent_points_follow_the_programmes_policy(
    ledger_pool: asyncpg.Pool, spent_points: str, points: int, balance: int
) -> None:
    prog = await returning_programme(ledger_pool, spent_points)
    buy = f"{prog}-buy"
    await apply(ledger_pool, purchase(prog, buy, 10, 100))
    spend = booking(f"{prog}-spend", 80, debit=True, variety=Variety.REDEMPTION)
    await apply(ledger_pool, command(f"{prog}-spend", "alice", spend, programme_id=prog))
    [outcome] = await apply(ledger_pool, a_return(prog, f"{prog}-r1", buy, "10"))
    assert (outcome.points, outcome.balance_after) == (points, balance)
    stored = await ledger_pool.fetchval(
        "SELECT balance FROM ledger.accounts WHERE programme_id = $1 AND owner_id = 'alice'", prog
    )
    assert stored == balance
    shortfall = await ledger_pool.fetchval(
        "SELECT shortfall FROM ledger.returns WHERE command_id = $1", f"{prog}-r1"
    )
    assert shortfall == (80 if spent_points == "shortfall" else 0)
    await assert_consistent(ledger_pool)


async def test_an_adjustment_allowed_to_goes_below_zero_and_no_other_does(
    ledger_pool: asyncpg.Pool,
) -> None:
    prog = await returning_programme(ledger_pool, "shortfall")
    await apply(
        ledger_pool, command(f"{prog}-e", "alice", booking(f"{prog}-e", 10), programme_id=prog)
    )
    allowed = booking(f"{prog}-a1", 30, debit=True, variety=Variety.ADJUSTMENT)
    refused = booking(f"{prog}-a2", 30, debit=True, variety=Variety.ADJUSTMENT)
    allowed = allowed.model_copy(update={"allow_negative": True})
    [first] = await apply(ledger_pool, command(f"{prog}-a1", "alice", allowed, programme_id=prog))
    [second] = await apply(ledger_pool, command(f"{prog}-a2", "alice", refused, programme_id=prog))
    assert (first.status, first.balance_after) == (OutcomeStatus.BOOKED, -20)
    assert second.status is OutcomeStatus.REJECTED
    later = booking(f"{prog}-e2", 25)
    [repaid] = await apply(ledger_pool, command(f"{prog}-e2", "alice", later, programme_id=prog))
    assert repaid.balance_after == 5
    await assert_consistent(ledger_pool)


async def test_a_return_cancels_the_pending_share_first_and_the_release_only_the_rest(
    ledger_pool: asyncpg.Pool,
) -> None:
    prog = await returning_programme(ledger_pool, "shortfall")
    buy = f"{prog}-buy"
    terms = PendingTerms(release_on=date(2026, 3, 15), reference_id="order-1")
    await apply(ledger_pool, purchase(prog, buy, 100, 150, terms))
    [first] = await apply(ledger_pool, a_return(prog, f"{prog}-r1", buy, "30"))
    [repeat] = await apply(ledger_pool, a_return(prog, f"{prog}-r1", buy, "30"))
    assert (first.points, first.balance_after, repeat.status) == (0, 0, OutcomeStatus.DUPLICATE)
    left = await pending_of(ledger_pool, prog, "alice")
    assert left is not None
    assert [(lot.award_key, lot.points) for lot in left] == [(f"{buy}:r1", 105)]
    await assert_consistent(ledger_pool)

    report = await apply_lifecycle(ledger_pool, release(prog, date(2026, 3, 15)))
    assert report.progress.points == 105  # the cancelled 45 are never released
    assert await pending_of(ledger_pool, prog, "alice") is None
    [rest] = await apply(ledger_pool, a_return(prog, f"{prog}-r2", buy, "70"))
    assert (rest.points, rest.balance_after) == (-105, 0)
    [over] = await apply(ledger_pool, a_return(prog, f"{prog}-r3", buy, "1"))
    assert isinstance(over.explanation, dict)
    assert (over.points, over.explanation["reason_code"]) == (0, "over_return")
    rows = await ledger_pool.fetch(
        """SELECT e.idempotency_key, e.points, e.pending_of, o.idempotency_key AS reverses,
                  d.kind AS debit, c.kind AS credit
           FROM ledger.entries e JOIN ledger.entries o ON o.entry_id = e.reverses_entry_id
           JOIN ledger.accounts d ON d.account_id = e.debit_account_id
           JOIN ledger.accounts c ON c.account_id = e.credit_account_id
           WHERE e.programme_id = $1 AND e.variety = 'Return' ORDER BY e.entry_id""",
        prog,
    )
    assert [tuple(row) for row in rows] == [
        (f"{prog}-r1:r1:pending", 45, f"{buy}:r1", f"{buy}:r1", "pending", "budget"),
        (f"{prog}-r2:r1", 105, None, f"{buy}:r1", "user", "budget"),
    ]
    returned = await ledger_pool.fetch(
        "SELECT command_id, points, shortfall FROM ledger.returns WHERE programme_id = $1 "
        "ORDER BY command_id",
        prog,
    )
    assert [tuple(row) for row in returned] == [(f"{prog}-r1", 45, 0), (f"{prog}-r2", 105, 0)]
    pending_balance = await ledger_pool.fetchval(
        "SELECT balance FROM ledger.accounts WHERE programme_id = $1 AND kind = 'pending'", prog
    )
    assert pending_balance == 0
    await assert_consistent(ledger_pool)
