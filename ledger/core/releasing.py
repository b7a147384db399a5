"""Release pending awards (and cancel them): the entries that move a pending lot's points.

A release moves a lot's points from the programme's pending account to the user's account,
keyed `release:{award_key}` (`pending.release_key`), variety Points Release, with the award's
key as its `pending_of`; the points form a lot dated by the programme's expiry policy from the
release (`released_at`: the scheduler's day or the confirming event's time), like any credit.
Two paths release: the scheduler's `release_points` command of a local day (`plan_release`,
in bounded chunks of accounts, like an expiry run) and a confirming event's command
(`ledger.core.planner`); both build the entry here, and both remove the lot they release, so
an award is released once whichever comes first.

A cancellation (`cancel_entry`, for a return) moves points of the lot back to the budget: it
reverses the award (pending account to budget, the award's way back), so what is left of the
award to take back (its points less its reversals) counts it, and a return gives back the rule
budget it used like any reversal.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from ledger.core.accounts import AccountKey, AccountKind
from ledger.core.batch import PlannedEntry
from ledger.core.columns import booking_entry_columns
from ledger.core.exceptions import LedgerInvariantError
from ledger.core.expiry import ExpiryPolicy
from ledger.core.hashing import booking_sha256
from ledger.core.lots import Lots, credited
from ledger.core.pending import Cancellation, Pending, PendingLot, cancelled, due, release_key
from schemas.ledger import Booking, LifecycleCommand, Lineage, TransactionType, Variety


class Holder(NamedTuple):
    """A user's account as a release finds it (locked)."""

    key: AccountKey
    balance: int
    lots: Lots | None
    pending: Pending | None


class Released(NamedTuple):
    entry: PlannedEntry
    balance: int
    """The user's balance after the release."""
    lots: Lots | None
    """The user's lots after it."""
    pending_balance: int
    """The pending account's balance after it."""


def release_entry(
    command_id: str,
    lot: PendingLot,
    user: AccountKey,
    user_balance: int,
    user_lots: Lots | None,
    pending_account: AccountKey,
    pending_balance: int,
    expiry: ExpiryPolicy | None,
    released_at: datetime,
    why: str,
) -> Released:
    """The entry that makes one pending lot available."""
    if pending_account.kind is not AccountKind.PENDING or user.kind is not AccountKind.USER:
        raise LedgerInvariantError(f"a release moves pending to a user, not {pending_account}")
    points = lot.points
    if points > pending_balance:
        raise LedgerInvariantError(
            f"{user}: pending award {lot.award_key} of {points} points, "
            f"the pending account holds {pending_balance}"
        )
    booking = Booking(
        idempotency_key=release_key(lot.award_key),
        transaction_type=TransactionType.CREDIT,
        variety=Variety.POINTS_RELEASE,
        points=points,
        reason=f"{points} pending points available: {why}"[:250],
        lineage=Lineage(occurred_at=released_at),
    )
    programme_id, user_id = user.programme_id, user.owner_id
    digest = booking_sha256(programme_id, user_id, booking)
    columns = booking_entry_columns(command_id, programme_id, user_id, digest, booking)
    incoming: Lots | None = None
    if expiry is not None:
        incoming = ((expiry.expires_on(released_at), points),)
    lots_after, formed = credited(user_lots, user_balance, points, incoming)
    balance_after = user_balance + points
    pending_after = pending_balance - points
    entry = PlannedEntry(
        booking,
        digest,
        pending_account,
        user,
        pending_after,
        balance_after,
        columns,
        None,
        formed,
        lot.award_key,
    )
    return Released(entry, balance_after, lots_after, pending_after)


class ReleaseChunk(NamedTuple):
    entries: list[PlannedEntry]
    balances: dict[AccountKey, int]
    """The final balance of every account the chunk changes (the pending account's too)."""
    lots: dict[AccountKey, Lots]
    """The final lots of the accounts of `balances` that store any."""
    pending: dict[AccountKey, Pending | None]
    """The final pending lots of every user account of `balances`."""
    lots_released: int
    points_released: int


def plan_release(
    command: LifecycleCommand,
    holders: Sequence[Holder],
    pending_account: AccountKey,
    pending_balance: int,
    expiry: ExpiryPolicy | None,
) -> ReleaseChunk:
    """The entries that release every pending lot of `holders` whose window ends on the
    command's day or earlier (accounts with nothing due any more are left alone)."""
    day = command.local_day.isoformat()
    why = f"return window ended {day}"
    entries: list[PlannedEntry] = []
    balances: dict[AccountKey, int] = {}
    final_lots: dict[AccountKey, Lots] = {}
    final_pending: dict[AccountKey, Pending | None] = {}
    points_released = 0
    for holder in holders:
        left, released = due(holder.pending, day)
        if not released:
            continue
        balance, lots = holder.balance, holder.lots
        for lot in released:
            done = release_entry(
                command.command_id,
                lot,
                holder.key,
                balance,
                lots,
                pending_account,
                pending_balance,
                expiry,
                command.effective_at,
                why,
            )
            entries.append(done.entry)
            balance, lots, pending_balance = done.balance, done.lots, done.pending_balance
            points_released += lot.points
        balances[holder.key] = balance
        if lots is not None:
            final_lots[holder.key] = lots
        final_pending[holder.key] = left
    if entries:
        balances[pending_account] = pending_balance
    return ReleaseChunk(entries, balances, final_lots, final_pending, len(entries), points_released)


class Cancelled(NamedTuple):
    cancellation: Cancellation
    entry: PlannedEntry | None
    """None when nothing of the award was pending."""
    pending_balance: int
    budget_balance: int


def cancel_entry(
    command_id: str,
    idempotency_key: str,
    pending: Pending | None,
    award_key: str,
    points: int,
    user: AccountKey,
    pending_account: AccountKey,
    pending_balance: int,
    budget_account: AccountKey,
    budget_balance: int,
    variety: Variety,
    reason: str,
    lineage: Lineage | None = None,
) -> Cancelled:
    """Cancel up to `points` of award `award_key`'s pending lot (a return): an entry from the
    pending account back to the budget, for the user, naming the award (`pending_of`). The
    caller keeps `cancellation.left` as the user's pending lots and takes whatever of the
    return was not pending any more (`points - cancellation.points`) from the available
    balance its own way. The entry reverses the award (`reverses`)."""
    if pending_account.kind is not AccountKind.PENDING or budget_account.kind is not (
        AccountKind.BUDGET
    ):
        raise LedgerInvariantError("a cancellation moves pending points back to the budget")
    cancellation = cancelled(pending, award_key, points)
    if cancellation.points == 0:
        return Cancelled(cancellation, None, pending_balance, budget_balance)
    taken = cancellation.points
    if taken > pending_balance:
        raise LedgerInvariantError(
            f"{user}: cancelling {taken} pending points, the pending account holds "
            f"{pending_balance}"
        )
    booking = Booking(
        idempotency_key=idempotency_key,
        transaction_type=TransactionType.DEBIT,
        variety=variety,
        points=taken,
        reason=reason,
        reverses=award_key,
        lineage=Lineage() if lineage is None else lineage,
    )
    programme_id, user_id = user.programme_id, user.owner_id
    digest = booking_sha256(programme_id, user_id, booking)
    columns = booking_entry_columns(command_id, programme_id, user_id, digest, booking)
    entry = PlannedEntry(
        booking,
        digest,
        pending_account,
        budget_account,
        pending_balance - taken,
        budget_balance + taken,
        columns,
        None,
        None,
        award_key,
    )
    return Cancelled(cancellation, entry, pending_balance - taken, budget_balance + taken)
