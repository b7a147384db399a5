"""The planner keeps lots as it books (and the expiry planner expires them): credits form lots
of the date the programme's policy gives, debits of every variety take the earliest-expiring
first, transfers carry their dates, the ledger's own variety is refused in a command."""

from datetime import UTC, date, datetime

from ledger.core.accounts import AccountKey, AccountKind, ProgrammePolicy
from ledger.core.expiring import DueAccount, plan_expiry
from ledger.core.expiry import expiry_policy
from schemas.ledger import (
    Booking,
    LifecycleAction,
    LifecycleCommand,
    Lineage,
    OutcomeStatus,
    RejectionReason,
    Variety,
)
from schemas.programme import PointsExpiry
from tests.unit.ledger.fixtures import MemoryLedger, booking, command

DAYS_30 = expiry_policy(PointsExpiry(policy="days_after_earning", days=30), "UTC")
ALICE = AccountKey.user("prog", "alice")
BOB = AccountKey.user("prog", "bob")
EXPIRED = AccountKey.programme("prog", AccountKind.EXPIRED)


def expiring_ledger() -> MemoryLedger:
    return MemoryLedger(programmes={"prog": ProgrammePolicy(funded=False, expiry=DAYS_30)})


def earn(ledger: MemoryLedger, key: str, user: str, points: int, on: date) -> None:
    at = datetime(on.year, on.month, on.day, 12, tzinfo=UTC)
    earned = booking(key, points).model_copy(update={"lineage": Lineage(occurred_at=at)})
    [outcome] = ledger.apply(command(key, user, earned))
    assert outcome.status is OutcomeStatus.BOOKED


def test_credits_form_lots_dated_by_the_policy_from_the_day_earned() -> None:
    ledger = expiring_ledger()
    earn(ledger, "a", "alice", 10, date(2026, 3, 1))
    earn(ledger, "b", "alice", 5, date(2026, 3, 1))
    earn(ledger, "c", "alice", 7, date(2026, 3, 2))
    assert ledger.lots[ALICE] == (("2026-03-31", 15), ("2026-04-01", 7))


def test_a_credit_without_a_time_is_dated_from_the_batchs_time() -> None:
    ledger = expiring_ledger()
    ledger.apply(command("a", "alice", booking("a", 10)))
    assert ledger.lots[ALICE] == (("2025-01-31", 10),)  # RECORDED_AT is 2025-01-01


def test_an_imported_balance_expires_on_its_own_day_with_or_without_a_policy() -> None:
    imported = booking("imported", 10).model_copy(update={"expires_on": date(2027, 6, 1)})
    expected = {
        DAYS_30: (("2025-01-31", 4), ("2027-06-01", 10)),  # RECORDED_AT is 2025-01-01
        None: (("2027-06-01", 10), (None, 4)),  # the never-expiring lot last
    }
    for expiry, lots in expected.items():
        ledger = MemoryLedger(programmes={"prog": ProgrammePolicy(funded=False, expiry=expiry)})
        ledger.apply(command("plain", "alice", booking("plain", 4)))
        ledger.apply(command("imported", "alice", imported))
        assert ledger.lots[ALICE] == lots


def test_every_debit_takes_the_earliest_expiring_points_first() -> None:
    ledger = expiring_ledger()
    earn(ledger, "a", "alice", 10, date(2026, 3, 2))
    earn(ledger, "b", "alice", 10, date(2026, 3, 1))
    for variety in (Variety.REDEMPTION, Variety.ADJUSTMENT):
        key = f"spend-{variety}"
        ledger.apply(command(key, "alice", booking(key, 6, debit=True, variety=variety)))
    assert ledger.lots[ALICE] == (("2026-04-01", 8),)
    assert ledger.entries["spend-Redemption"] is not None


def test_a_transfer_carries_the_dates_of_the_lots_it_takes() -> None:
    ledger = expiring_ledger()
    earn(ledger, "a", "alice", 10, date(2026, 3, 1))
    earn(ledger, "b", "alice", 10, date(2026, 3, 5))
    transfer = booking(
        "t", 15, debit=True, variety=Variety.PERSON_TO_PERSON_TRANSFER, counterparty="bob"
    )
    ledger.apply(command("t", "alice", transfer))
    assert ledger.lots[ALICE] == (("2026-04-04", 5),)
    assert ledger.lots[BOB] == (("2026-03-31", 10), ("2026-04-04", 5))


def test_a_rejected_command_leaves_the_lots_as_they_were() -> None:
    ledger = expiring_ledger()
    earn(ledger, "a", "alice", 10, date(2026, 3, 1))
    [outcome] = ledger.apply(
        command("x", "alice", booking("x1", 5, debit=True), booking("x2", 50, debit=True))
    )
    assert outcome.reason_code is RejectionReason.INSUFFICIENT_POINTS
    assert ledger.lots[ALICE] == (("2026-03-31", 10),)


def test_points_expiry_is_the_ledgers_own_variety() -> None:
    ledger = expiring_ledger()
    earn(ledger, "a", "alice", 10, date(2026, 3, 1))
    own = booking("x", 5, debit=True, variety=Variety.POINTS_EXPIRY)
    [outcome] = ledger.apply(command("x", "alice", own))
    assert outcome.reason_code is RejectionReason.INVALID_TRANSACTION
    assert "only the ledger" in (outcome.reason or "")


def expire_command(day: date) -> LifecycleCommand:
    return LifecycleCommand(
        command_id=f"expire:prog:{day}",
        programme_id="prog",
        action=LifecycleAction.EXPIRE_POINTS,
        local_day=day,
        effective_at=datetime(day.year, day.month, day.day, tzinfo=UTC),
    )


def test_an_expiry_takes_each_accounts_due_lots_in_one_entry() -> None:
    ledger = expiring_ledger()
    earn(ledger, "a", "alice", 10, date(2026, 3, 1))
    earn(ledger, "b", "alice", 4, date(2026, 3, 3))
    earn(ledger, "c", "alice", 6, date(2026, 4, 1))
    earn(ledger, "d", "bob", 9, date(2026, 4, 1))
    due = [DueAccount(key, ledger.balances[key], ledger.lots.get(key)) for key in (ALICE, BOB)]
    chunk = plan_expiry(expire_command(date(2026, 4, 2)), due, EXPIRED, 0)
    [entry] = chunk.entries
    assert entry.booking.variety is Variety.POINTS_EXPIRY
    assert entry.booking.idempotency_key == "expire:prog:2026-04-02:alice"
    assert (entry.debit, entry.credit, entry.booking.points) == (ALICE, EXPIRED, 14)
    assert entry.debit_lots == (("2026-03-31", 10), ("2026-04-02", 4))
    assert chunk.balances == {ALICE: 6, EXPIRED: 14}
    assert chunk.lots == {ALICE: (("2026-05-01", 6),)}
    assert (chunk.lots_expired, chunk.points_expired) == (2, 14)


def test_an_expiry_booking_is_the_booking_validation_would_build() -> None:
    """The expiry planner builds its bookings without validation: each is equal, field for
    field and in its JSON, to the one pydantic would validate from the same values."""
    ledger = expiring_ledger()
    earn(ledger, "a", "alice", 10, date(2026, 3, 1))
    due = [DueAccount(ALICE, ledger.balances[ALICE], ledger.lots.get(ALICE))]
    [entry] = plan_expiry(expire_command(date(2026, 4, 2)), due, EXPIRED, 0).entries
    built = entry.booking
    validated = Booking.model_validate(built.model_dump())
    assert built == validated
    assert built.model_dump_json() == validated.model_dump_json()
    assert built.model_fields_set == set(Booking.model_fields)
    assert built.model_copy(update={"points": 3}).points == 3
