"""The rows a planned batch writes, as Postgres receives them (COPY into the staging tables, see
`ledger.storage`): each command's own columns, worked out when it was decoded
(`ledger.core.columns`), behind the columns its plan decided. Built inside the batch's
transaction, for every command and entry, so nothing here reads a pydantic model."""

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import NamedTuple

import orjson

from ledger.core.accounts import AccountKey
from ledger.core.batch import BatchPlan, Outcome, PlannedEntry, PlannedOutcome
from ledger.core.columns import COMMAND_OUTCOME_COLUMNS, Row
from ledger.core.lots import Lots, encode, next_due
from ledger.core.pending import Pending, next_release
from ledger.core.pending import encode as encode_pending
from schemas.ledger import OutcomeStatus


class BatchRows(NamedTuple):
    outcomes: list[Row]
    entries: list[Row]
    balances: dict[int, int]
    """The new balance by account id."""
    archive: list[Row]
    """ledger.decided_events rows: the new outcomes' source events (`columns.ARCHIVE_COLUMNS`)."""
    lots: Sequence[str | None] = ()
    """The new lots of each account of `balances`, in its order (json text; None: none)."""
    lots_next_due: Sequence[str | None] = ()
    """When each account's earliest lot is due, in the same order."""
    pending: Sequence[str | None] = ()
    """The new pending lots of each account of `balances`, in its order (empty: none holds
    any, before or after)."""
    pending_next_release: Sequence[str | None] = ()
    """When each account's earliest pending lot is released, in the same order."""


def batch_rows(
    plan: BatchPlan,
    account_ids: Mapping[AccountKey, int],
    stored_entry_ids: Mapping[str, int],
    entry_ids: Sequence[int],
    recorded_at: datetime,
) -> BatchRows:
    """The rows of a plan. `entry_ids`: one drawn for each of the plan's entries;
    `stored_entry_ids`: of the stored entries the batch's reversals may name."""
    outcomes = [
        outcome_record(planned.outcome, _outcome_columns(planned), recorded_at)
        for planned in plan.outcomes
        if planned.is_new
    ]
    # Entry ids by idempotency key, for the reversals to name (of this batch or stored ones).
    known_ids: Mapping[str, int] = stored_entry_ids
    if any(entry.booking.reverses is not None for entry in plan.entries):
        known_ids = dict(stored_entry_ids)
        for entry, entry_id in zip(plan.entries, entry_ids, strict=True):
            known_ids[entry.booking.idempotency_key] = entry_id
    entries = [
        entry_record(entry, entry_id, known_ids, account_ids, recorded_at)
        for entry, entry_id in zip(plan.entries, entry_ids, strict=True)
    ]
    balances = {account_ids[key]: balance for key, balance in plan.balances.items()}
    # Only a new outcome is archived: a repeat of a stored command archives nothing more.
    archive = [
        archive_record(planned.outcome, archived, recorded_at)
        for planned in plan.outcomes
        if planned.is_new and (archived := planned.incoming.archive) is not None
    ]
    lots, due = account_lots(plan.balances, plan.lots)
    pending: tuple[list[str | None], list[str | None]] = ([], [])
    if plan.pending_stored:
        pending = account_pending(plan.balances, plan.pending)
    return BatchRows(outcomes, entries, balances, archive, lots, due, *pending)


def account_pending(
    balances: Mapping[AccountKey, int], pending: Mapping[AccountKey, Pending | None]
) -> tuple[list[str | None], list[str | None]]:
    """The pending column and the next release day of each account of `balances`, in its
    order."""
    texts: list[str | None] = []
    days: list[str | None] = []
    for key in balances:
        held = pending.get(key)
        texts.append(encode_pending(held))
        days.append(next_release(held))
    return texts, days


def _outcome_columns(planned: PlannedOutcome) -> Row:
    """The command's outcome columns; a return's with the explanation of what the ledger took
    back (`return_bookings.return_explanation`), which only the plan knows."""
    columns = planned.incoming.outcome_columns
    if planned.incoming.command.returning is None:
        return columns
    explained = orjson.dumps(planned.outcome.explanation).decode()
    return (*columns[:_EXPLANATION], explained, *columns[_EXPLANATION + 1 :])


_EXPLANATION = COMMAND_OUTCOME_COLUMNS.index("explanation")


def archive_record(outcome: Outcome, command_columns: Row, recorded_at: datetime) -> Row:
    """A ledger.decided_events row, in `columns.ARCHIVE_COLUMNS` order: what the ledger did with
    the decision (booked, or rejected and why) before the decision's own columns."""
    rejected = outcome.status is OutcomeStatus.REJECTED
    reason = outcome.reason_code if rejected else None
    status = OutcomeStatus.REJECTED if rejected else OutcomeStatus.BOOKED
    planned = (str(status), None if reason is None else str(reason), recorded_at)
    return planned + command_columns


def account_lots(
    balances: Mapping[AccountKey, int], lots: Mapping[AccountKey, Lots]
) -> tuple[list[str | None], list[str | None]]:
    """The lots column and the next due date of each account of `balances`, in its order."""
    if not lots:  # a programme without expiry: every account stores nothing
        nothing: list[str | None] = [None] * len(balances)
        return nothing, list(nothing)
    texts: list[str | None] = []
    dues: list[str | None] = []
    for key in balances:
        held = lots.get(key)
        if held is None:
            texts.append(None)
            dues.append(None)
        else:
            texts.append(encode(held))
            dues.append(next_due(held))
    return texts, dues


def outcome_record(outcome: Outcome, command_columns: Row, recorded_at: datetime) -> Row:
    """A ledger.command_outcomes row, in `columns.OUTCOME_COLUMNS` order."""
    planned = (
        outcome.status, outcome.reason_code, outcome.reason, outcome.points,
        outcome.balance_after, recorded_at,
    )  # fmt: skip
    return planned + command_columns


def entry_record(
    entry: PlannedEntry,
    entry_id: int,
    known_ids: Mapping[str, int],
    account_ids: Mapping[AccountKey, int],
    recorded_at: datetime,
) -> Row:
    """A ledger.entries row, in `columns.ENTRY_COLUMNS` order."""
    booking = entry.booking
    reverses = booking.reverses
    debit_lots, credit_lots = entry.debit_lots, entry.credit_lots
    debit_day = credit_day = None
    if debit_lots is not None:
        debit_lots, debit_day = journalled(debit_lots, booking.points)
    if credit_lots is not None:
        credit_lots, credit_day = journalled(credit_lots, booking.points)
    planned = (
        entry_id, account_ids[entry.debit], account_ids[entry.credit], entry.debit_balance_after,
        entry.credit_balance_after, None if reverses is None else known_ids[reverses],
        recorded_at, None if debit_lots is None else encode(debit_lots),
        None if credit_lots is None else encode(credit_lots), entry.pending_of,
        debit_day, credit_day,
    )  # fmt: skip
    return planned + entry.columns


def journalled(lots: Lots, points: int) -> tuple[Lots | None, date | None]:
    """How an entry journals one side's lot movement: one dated lot of all the entry's points
    as its day alone (most awards, redemptions and expiries: 4 bytes, nothing to encode or
    parse), anything else as the lots themselves (migration 0201; `movement` reads it back)."""
    if len(lots) == 1:
        day, moved = lots[0]
        if day is not None and moved == points:
            return None, _date(day)
    return lots, None


# The date of each ISO day text seen: a batch's entries share a few days, and parsing one costs
# more than the rest of `journalled` (bounded: emptied when full).
_DATES: dict[str, date] = {}
_DATES_MAX = 4_096


def _date(day: str) -> date:
    found = _DATES.get(day)
    if found is None:
        if len(_DATES) >= _DATES_MAX:
            _DATES.clear()
        found = _DATES[day] = date.fromisoformat(day)
    return found


def movement(lots: Lots | None, day: date | None, points: int) -> Lots | None:
    """An entry side's lot movement from its two columns (`journalled`'s inverse)."""
    if day is not None:
        return ((day.isoformat(), points),)
    return lots
