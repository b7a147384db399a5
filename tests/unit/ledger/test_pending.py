"""Pending points in the pure core: a pending award is held in the programme's pending account
with a lot on the user's row, never spendable; a confirmation or the scheduler's day releases
it once (points that then expire from the release), a return cancels it; properties over
random histories."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.accounts import AccountKey, AccountKind, ProgrammePolicy
from ledger.core.batch import IncomingCommand, StoredEntry
from ledger.core.expiry import expiry_policy
from ledger.core.lots import total
from ledger.core.pending import (
    PendingLot,
    cancelled,
    confirmed,
    decode,
    due,
    encode,
    next_release,
    problems,
)
from ledger.core.releasing import Holder, cancel_entry, plan_release
from schemas.ledger import (
    Booking,
    LedgerCommand,
    LifecycleAction,
    LifecycleCommand,
    Lineage,
    OutcomeStatus,
    PendingConfirmation,
    PendingTerms,
    RejectionReason,
    Variety,
)
from schemas.programme import PointsExpiry
from tests.unit.ledger.fixtures import MemoryLedger, booking, command

ALICE = AccountKey.user("prog", "alice")
PENDING = AccountKey.programme("prog", AccountKind.PENDING)
BUDGET = AccountKey.programme("prog", AccountKind.BUDGET)
DAYS_30 = expiry_policy(PointsExpiry(policy="days_after_earning", days=30), "UTC")
EARNED_AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


def pending_award(
    key: str,
    points: int,
    reference: str = "order_1",
    release_on: date | None = date(2026, 3, 15),
    confirmed_by: str | None = "order.completed",
) -> IncomingCommand:
    terms = PendingTerms(release_on=release_on, confirmed_by=confirmed_by, reference_id=reference)
    held = booking(key, points).model_copy(
        update={"pending": terms, "lineage": Lineage(occurred_at=EARNED_AT)}
    )
    return command(key, "alice", held)


def confirmation(
    command_id: str, reference: str, event_type: str = "order.completed"
) -> IncomingCommand:
    return IncomingCommand.of(
        LedgerCommand(
            command_id=command_id,
            programme_id="prog",
            user_id="alice",
            confirms=PendingConfirmation(
                event_type=event_type,
                reference_id=reference,
                confirmed_at=datetime(2026, 3, 5, 9, tzinfo=UTC),
            ),
        )
    )


def release_day(day: date) -> LifecycleCommand:
    return LifecycleCommand(
        command_id=f"release:prog:{day}",
        programme_id="prog",
        action=LifecycleAction.RELEASE_POINTS,
        local_day=day,
        effective_at=datetime(day.year, day.month, day.day, tzinfo=UTC),
    )


def run_release(ledger: MemoryLedger, day: date) -> int:
    """The scheduler's day as the lifecycle run applies it, into the memory ledger."""
    holders = [
        Holder(key, ledger.balances.get(key, 0), ledger.lots.get(key), held)
        for key, held in sorted(ledger.pending.items())
    ]
    expiry = ledger.programmes["prog"].expiry
    chunk = plan_release(
        release_day(day), holders, PENDING, ledger.balances.get(PENDING, 0), expiry
    )
    ledger.balances.update(chunk.balances)
    for key, left in chunk.pending.items():
        if left is None:
            ledger.pending.pop(key, None)
        else:
            ledger.pending[key] = left
        if key in chunk.lots:
            ledger.lots[key] = chunk.lots[key]
    for entry in chunk.entries:
        entry_key = entry.booking.idempotency_key
        assert entry_key not in ledger.entries  # each award released once
        ledger.entries[entry_key] = StoredEntry(
            entry.payload_sha256, entry.debit, entry.credit, entry.booking.points, False
        )
    return chunk.points_released


def test_a_pending_award_is_held_for_the_user_not_in_the_balance() -> None:
    ledger = MemoryLedger()
    [outcome] = ledger.apply(pending_award("a", 40))
    assert outcome.status is OutcomeStatus.BOOKED
    assert outcome.points == 40  # awarded, though pending
    assert ledger.user_balance("alice") == 0
    assert ledger.balances[PENDING] == 40
    assert ledger.pending[ALICE] == (
        PendingLot("a", "order_1", "2026-03-15", "order.completed", 40),
    )


def test_pending_points_cannot_be_spent() -> None:
    ledger = MemoryLedger()
    ledger.apply(pending_award("a", 40))
    [outcome] = ledger.apply(command("spend", "alice", booking("spend", 10, debit=True)))
    assert outcome.reason_code is RejectionReason.INSUFFICIENT_POINTS
    assert ledger.pending[ALICE][0].points == 40


def test_a_confirmation_releases_the_named_award_once() -> None:
    ledger = MemoryLedger(programmes={"prog": ProgrammePolicy(funded=False, expiry=DAYS_30)})
    ledger.apply(pending_award("a", 40, "order_1"), pending_award("b", 7, "order_2"))
    [outcome] = ledger.apply(confirmation("confirm-1", "order_1"))
    assert outcome.status is OutcomeStatus.BOOKED
    assert outcome.points == 0  # counted when awarded
    assert outcome.balance_after == 40
    assert ledger.user_balance("alice") == 40
    assert ledger.balances[PENDING] == 7
    assert [lot.award_key for lot in ledger.pending[ALICE]] == ["b"]
    # Expiry counts from the confirmation (5 March + 30 days), not from the award.
    assert ledger.lots[ALICE] == (("2026-04-04", 40),)
    assert "release:a" in ledger.entries
    ledger.apply(confirmation("confirm-2", "order_1"))  # another confirmation: nothing left
    assert ledger.user_balance("alice") == 40


def test_a_confirmation_of_another_event_type_or_reference_releases_nothing() -> None:
    ledger = MemoryLedger()
    ledger.apply(pending_award("a", 40, "order_1"))
    ledger.apply(confirmation("c1", "order_9"), confirmation("c2", "order_1", "order.shipped"))
    assert ledger.user_balance("alice") == 0
    assert ledger.balances[PENDING] == 40


def test_the_award_and_its_confirmation_in_one_batch() -> None:
    ledger = MemoryLedger()
    ledger.apply(pending_award("a", 40), confirmation("c", "order_1"))
    assert ledger.user_balance("alice") == 40
    assert ALICE not in ledger.pending


def test_the_scheduler_day_releases_due_lots_only() -> None:
    ledger = MemoryLedger(programmes={"prog": ProgrammePolicy(funded=False, expiry=DAYS_30)})
    ledger.apply(
        pending_award("a", 40, "order_1", date(2026, 3, 15)),
        pending_award("b", 7, "order_2", date(2026, 3, 20)),
    )
    assert next_release(ledger.pending[ALICE]) == "2026-03-15"
    assert run_release(ledger, date(2026, 3, 14)) == 0
    assert run_release(ledger, date(2026, 3, 15)) == 40
    assert ledger.user_balance("alice") == 40
    assert ledger.lots[ALICE] == (("2026-04-14", 40),)  # 30 days from the release
    assert run_release(ledger, date(2026, 3, 15)) == 0  # a repeated day releases nothing more
    # A confirmation after the day finds nothing of the released award.
    ledger.apply(confirmation("late", "order_1"))
    assert ledger.user_balance("alice") == 40
    assert run_release(ledger, date(2026, 3, 25)) == 7
    assert ALICE not in ledger.pending
    assert ledger.balances[PENDING] == 0


def test_a_pending_booking_must_be_an_award() -> None:
    terms = PendingTerms(release_on=date(2026, 3, 15), reference_id="r")
    redeemed_credit = booking("x", 5, variety=Variety.ORDER_CANCELATION).model_copy(
        update={"pending": terms}
    )
    ledger = MemoryLedger()
    [outcome] = ledger.apply(command("x", "alice", redeemed_credit))
    assert outcome.reason_code is RejectionReason.INVALID_TRANSACTION
    with pytest.raises(ValueError, match="only a credit can be pending"):
        Booking.model_validate(
            {**booking("y", 5, debit=True).model_dump(), "pending": terms.model_dump()}
        )


def test_a_rejected_command_holds_nothing() -> None:
    ledger = MemoryLedger()
    spend = booking("spend", 10, debit=True)
    held = pending_award("a", 40).command.bookings[0]
    [outcome] = ledger.apply(command("both", "alice", held, spend))
    assert outcome.status is OutcomeStatus.REJECTED
    assert ALICE not in ledger.pending
    assert ledger.balances.get(PENDING, 0) == 0


def test_cancel_takes_back_part_then_the_rest_of_a_lot_never_more() -> None:
    lot = PendingLot("a", "order_1", "2026-03-15", None, 40)
    part = cancelled((lot,), "a", 15)
    assert part.points == 15
    assert part.left == (lot._replace(points=25),)
    rest = cancelled(part.left, "a", 100)
    assert rest.points == 25
    assert rest.left is None
    assert cancelled(rest.left, "a", 5).points == 0
    assert cancelled((lot,), "other", 5).left == (lot,)
    with pytest.raises(ValueError, match="must be positive"):
        cancelled((lot,), "a", 0)


def test_cancel_entry_moves_pending_points_back_to_the_budget() -> None:
    lot = PendingLot("a", "order_1", "2026-03-15", None, 40)
    done = cancel_entry(
        "return-1", "return-1:a", (lot,), "a", 10, ALICE, PENDING, 40, BUDGET, -40,
        Variety.ORDER_CANCELATION, "returned",
    )  # fmt: skip
    assert done.entry is not None
    assert (done.entry.debit, done.entry.credit, done.entry.pending_of) == (PENDING, BUDGET, "a")
    assert (done.pending_balance, done.budget_balance) == (30, -30)
    assert done.cancellation.left == (lot._replace(points=30),)


def test_lots_encode_and_decode_and_their_problems() -> None:
    lots = (
        PendingLot("a", "r1", "2026-03-15", None, 4),
        PendingLot("b", "r2", None, "order.completed", 5),
    )
    assert decode(encode(lots)) == lots
    assert decode(None) is None
    assert encode(None) is None
    assert problems(lots) == []
    assert problems((lots[0], lots[0]._replace(points=0, release_on=None))) == [
        "pending lot a holds 0 points",
        "pending lot a has no way to be released",
        "pending lot a appears twice",
    ]
    with pytest.raises(ValueError, match="malformed pending lot"):
        decode('[["a", "r", null, null]]')


def test_due_and_confirmed_pick_their_lots() -> None:
    lots = (
        PendingLot("a", "r1", "2026-03-15", "done", 4),
        PendingLot("b", "r2", "2026-03-10", None, 5),
        PendingLot("c", "r1", None, "done", 6),
    )
    assert due(lots, "2026-03-12") == ((lots[0], lots[2]), (lots[1],))
    assert confirmed(lots, "done", "r1") == ((lots[1],), (lots[0], lots[2]))
    assert next_release(lots) == "2026-03-10"
    assert next_release((lots[2],)) is None


# Properties over random histories of pending awards, spends, confirmations and days.
_STEP = st.one_of(
    st.tuples(st.just("award"), st.integers(1, 50), st.integers(0, 3), st.integers(1, 20)),
    st.tuples(st.just("earn"), st.integers(1, 50), st.just(0), st.just(0)),
    st.tuples(st.just("spend"), st.integers(1, 80), st.just(0), st.just(0)),
    st.tuples(st.just("confirm"), st.just(0), st.integers(0, 3), st.just(0)),
    st.tuples(st.just("day"), st.just(0), st.just(0), st.integers(1, 25)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_STEP, max_size=30), st.booleans())
def test_pending_is_never_spendable_and_each_award_leaves_once(
    steps: list[tuple[str, int, int, int]], expiring: bool
) -> None:
    ledger = MemoryLedger(
        programmes={"prog": ProgrammePolicy(funded=False, expiry=DAYS_30 if expiring else None)}
    )
    awarded: dict[str, int] = {}
    released: dict[str, int] = {}
    for index, (kind, points, reference, day) in enumerate(steps):
        key = f"k{index}"
        if kind == "award":
            ledger.apply(pending_award(key, points, f"order_{reference}", date(2026, 3, day)))
            awarded[key] = points
        elif kind == "earn":
            earned = booking(key, points).model_copy(
                update={"lineage": Lineage(occurred_at=EARNED_AT)}
            )
            ledger.apply(command(key, "alice", earned))
        elif kind == "spend":
            available = ledger.user_balance("alice")
            [outcome] = ledger.apply(command(key, "alice", booking(key, points, debit=True)))
            # Pending points never pay: a spend beyond the available balance is refused.
            assert (outcome.status is OutcomeStatus.BOOKED) == (points <= available)
        elif kind == "confirm":
            ledger.apply(confirmation(key, f"order_{reference}"))
        else:
            run_release(ledger, date(2026, 3, day))
        held = ledger.pending.get(ALICE)
        assert problems(held) == []
        held_points = sum(lot.points for lot in held or ())
        assert ledger.balances.get(PENDING, 0) == held_points
        # Open available lots sum to the available balance.
        assert total(ledger.lots.get(ALICE), ledger.user_balance("alice")) == max(
            ledger.user_balance("alice"), 0
        )
    for key in ledger.entries:
        if key.startswith("release:"):
            award = key.removeprefix("release:")
            released[award] = released.get(award, 0) + awarded[award]
    held_now = {lot.award_key: lot.points for lot in ledger.pending.get(ALICE, ())}
    for award, points in awarded.items():
        # Each award is either still pending or released, exactly once, in full.
        assert (award in held_now) != (award in released)
        assert held_now.get(award, released.get(award)) == points
