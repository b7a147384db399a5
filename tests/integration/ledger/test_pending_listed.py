"""Pending awards in the transaction lists, on the real Postgres: each award of the user is a
transaction at its place in the journal (the lists, the last transaction, the page count, the
console's newest-first history and one entry by id), with the balance it left unchanged and
where it stands: pending (with the day it becomes available and what a return cancelled of it),
available once released, cancelled when a return took all of it first. The points earned from
rules (a tier's progress) count the pending award once, and not its release."""

from datetime import UTC, date, datetime

import asyncpg
import pytest

from ledger.lifecycle import apply_lifecycle
from ledger.reads import (
    last_transaction,
    list_transactions,
    points_earned,
    transactions_page,
    user_entries,
    user_entry,
)
from schemas.ledger import PendingTerms
from tests.integration.ledger.conftest import apply, assert_consistent
from tests.integration.ledger.test_pending import release
from tests.integration.ledger.test_returns import a_return, purchase, returning_programme
from tests.unit.ledger.fixtures import booking, command

pytestmark = pytest.mark.integration

RELEASE_ON = date(2026, 3, 15)


async def test_an_award_is_listed_pending_then_available_with_what_a_return_cancelled(
    ledger_pool: asyncpg.Pool,
) -> None:
    prog = await returning_programme(ledger_pool, "shortfall")
    buy = f"{prog}-buy"
    await apply(ledger_pool, command(f"{prog}-gift", "alice", booking(f"{prog}-gift", 10),
                                     programme_id=prog))  # fmt: skip
    terms = PendingTerms(release_on=RELEASE_ON, confirmed_by="order.completed", reference_id="o-1")
    await apply(ledger_pool, purchase(prog, buy, 100, 150, terms))
    await apply(ledger_pool, a_return(prog, f"{prog}-r1", buy, "30"))  # 45 cancelled

    listed = await list_transactions(ledger_pool, prog, "alice")
    assert [(t.variety, t.value, t.balance) for t in listed] == [
        ("Programme Points", 10, 10),
        ("Programme Points", 150, 10),  # the award: its points not in the balance
    ]
    gift, award = listed
    assert gift.pending is None
    assert award.pending is not None
    assert (award.pending.status, award.pending.pending_points,
            award.pending.cancelled_points, award.pending.released_points) == (
        "pending", 105, 45, 0,
    )  # fmt: skip
    assert (award.pending.available_on, award.pending.reference_id) == (RELEASE_ON, "o-1")
    assert award.pending.available_at == datetime(2026, 3, 15, tzinfo=UTC)
    assert award.pending.confirmed_by == "order.completed"
    last = await last_transaction(ledger_pool, prog, "alice")
    assert last is not None
    assert (last.id, last.balance) == (award.id, 10)
    page = await transactions_page(ledger_pool, prog, "alice", page=1, num_of_items=1)
    assert (page.total_count, [t.id for t in page.transactions]) == (2, [gift.id])

    await apply_lifecycle(ledger_pool, release(prog, RELEASE_ON))
    await apply(ledger_pool, a_return(prog, f"{prog}-r2", buy, "70"))  # 105 from the balance
    listed = await list_transactions(ledger_pool, prog, "alice")
    assert [(t.variety, t.value, t.balance) for t in listed] == [
        ("Programme Points", 10, 10),
        ("Programme Points", 150, 10),
        ("Points Release", 105, 115),
        ("Return", -105, 10),
    ]
    released = listed[1].pending
    assert released is not None
    assert (released.status, released.pending_points, released.released_points,
            released.cancelled_points) == ("available", 0, 105, 45)  # fmt: skip
    # Available from the scheduler day's midnight (the programme's zone is UTC).
    assert (released.available_on, released.available_at) == (
        RELEASE_ON, datetime(2026, 3, 15, tzinfo=UTC),
    )  # fmt: skip
    assert [t.pending for t in listed[2:]] == [None, None]
    assert (await list_transactions(ledger_pool, prog, "alice", after_id=listed[1].id))[0].id == (
        listed[2].id
    )

    history = await user_entries(ledger_pool, prog, "alice", limit=3)
    assert [(e.variety, e.points, e.balance_after) for e in history] == [
        ("Return", -105, 10),
        ("Points Release", 105, 115),
        ("Programme Points", 150, 10),
    ]
    assert history[2].pending == released
    older = await user_entries(ledger_pool, prog, "alice", before_id=history[2].entry_id)
    assert [e.entry_id for e in older] == [gift.id]
    found = await user_entry(ledger_pool, prog, "alice", award.id)
    assert found is not None
    assert (found.pending, found.rule_id) == (released, "r1")
    assert await user_entry(ledger_pool, prog, "bob", award.id) is None

    # The award counts once towards a tier (not again as released), the gift (no rule) not.
    assert await points_earned(ledger_pool, prog, "alice", None) == 150
    assert await points_earned(ledger_pool, prog, "alice", datetime(2026, 3, 1, tzinfo=UTC)) == (
        150
    )
    assert await points_earned(ledger_pool, prog, "alice", datetime(2026, 4, 1, tzinfo=UTC)) == 0
    await assert_consistent(ledger_pool)


async def test_an_award_returned_in_full_while_pending_is_listed_cancelled(
    ledger_pool: asyncpg.Pool,
) -> None:
    prog = await returning_programme(ledger_pool, "shortfall")
    buy = f"{prog}-buy"
    terms = PendingTerms(confirmed_by="order.completed", reference_id="o-2")
    await apply(ledger_pool, purchase(prog, buy, 100, 80, terms))
    [award] = await list_transactions(ledger_pool, prog, "alice")
    assert award.pending is not None
    assert (award.pending.status, award.pending.available_on) == ("pending", None)

    await apply(ledger_pool, a_return(prog, f"{prog}-r", buy, "100"))
    [award] = await list_transactions(ledger_pool, prog, "alice")
    assert (award.value, award.balance) == (80, 0)
    assert award.pending is not None
    assert (award.pending.status, award.pending.cancelled_points, award.pending.available_on) == (
        "cancelled", 80, None,
    )  # fmt: skip
    page = await transactions_page(ledger_pool, prog, "alice", page=1, num_of_items=10)
    assert page.total_count == 1
    assert await list_transactions(ledger_pool, prog, "bob") == []
    await assert_consistent(ledger_pool)
