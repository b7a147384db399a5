"""Funding a programme's budget: points come into a funded budget from the outside world.

Not a MyRewards user transaction, so not on ledger-commands.v1: an operator's action, applied
directly (`ledger.repository.fund_budget`), journalled like any other booking.
"""

from datetime import datetime

from ledger.core.accounts import AccountKey, AccountKind
from ledger.core.batch import Outcome, PlannedEntry, StoredOutcome
from ledger.core.columns import booking_entry_columns
from ledger.core.hashing import booking_sha256
from schemas.ledger import (
    Booking,
    OutcomeStatus,
    RejectionReason,
    TransactionType,
    Variety,
)


def funding_booking(idempotency_key: str, points: int, reason: str) -> Booking:
    return Booking(
        idempotency_key=idempotency_key,
        transaction_type=TransactionType.CREDIT,
        variety=Variety.PROGRAMME_BUDGET,
        points=points,
        reason=reason,
    )


def funding_accounts(programme_id: str) -> tuple[AccountKey, AccountKey]:
    """(debit, credit): from the programme's funding account to its budget."""
    return (
        AccountKey.programme(programme_id, AccountKind.FUNDING),
        AccountKey.programme(programme_id, AccountKind.BUDGET),
    )


def plan_funding(
    programme_id: str,
    booking: Booking,
    balances: dict[AccountKey, int],
    stored: StoredOutcome | None,
    recorded_at: datetime,
) -> tuple[Outcome, PlannedEntry | None]:
    """The outcome (`points` is what the budget gained) and the entry to write, if any."""
    digest = booking_sha256(programme_id, "", booking)
    key = booking.idempotency_key
    if stored is not None:
        if stored.payload_sha256 != digest:
            conflict = Outcome(
                command_id=key,
                status=OutcomeStatus.REJECTED,
                points=0,
                reason="funding key already used with a different payload",
                reason_code=RejectionReason.IDEMPOTENCY_CONFLICT,
            )
            return conflict, None
        return stored.outcome.repeated(), None
    debit, credit = funding_accounts(programme_id)
    entry = PlannedEntry(
        booking=booking,
        payload_sha256=digest,
        debit=debit,
        credit=credit,
        debit_balance_after=balances[debit] - booking.points,
        credit_balance_after=balances[credit] + booking.points,
        columns=booking_entry_columns(key, programme_id, None, digest, booking),
    )
    outcome = Outcome(
        command_id=key,
        status=OutcomeStatus.BOOKED,
        points=booking.points,
        balance_after=entry.credit_balance_after,
        recorded_at=recorded_at,
    )
    return outcome, entry
