"""Reads for the gateway and the tests: balance, transactions with running balance, outcomes.

Plain async functions over an asyncpg connection (or pool), so any process can import them.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from ledger.core import lots as lot_rules
from ledger.core import pending as pending_rules
from ledger.core.exceptions import LedgerInvariantError
from ledger.db_types import Executor
from ledger.pending_awards import AwardRow, PendingAward, award_states, balance_before_sql
from schemas.ledger import CommandOutcome, day_start
from schemas.notifications import OUTCOME_FIELDS, outcome_of

TRANSACTIONS_LIMIT_MAX = 10_000
PAGE_SIZE_MAX = 1_000


@dataclass(frozen=True, slots=True)
class Transaction:
    """One journal entry on a user's account, from that user's side (MyRewards' transaction)."""

    id: int
    user_id: str
    description: str
    value: int
    balance: int
    transaction_type: str
    variety: str
    remote_transaction_id: str | None
    source_event_id: str | None
    idempotency_key: str
    created_at: datetime
    pending: PendingAward | None = None
    """For a pending award (`ledger.pending_awards`): where it stands. Its `value` is the
    award's points, which are not in `balance` (the balance when it was booked) until its
    release, a transaction of its own, moves them there."""


@dataclass(frozen=True, slots=True)
class TransactionPage:
    transactions: list[Transaction]
    total_count: int


_SELECTED = {"explanation": "explanation::text AS explanation"}
OUTCOME_SELECT = ", ".join(_SELECTED.get(name, name) for name in OUTCOME_FIELDS) + (
    ", payload_sha256"
)
"""The outcome fields a notification sends (`schemas.notifications.OUTCOME_FIELDS`) as a select
list, with the digest the writer compares repeats by."""


def outcome_from_row(row: asyncpg.Record | Mapping[str, Any]) -> CommandOutcome:
    """From a row of `OUTCOME_SELECT`: read as a notification's element is."""
    return outcome_of(row)


async def get_outcome(
    db: Executor, command_id: str, *, programme_id: str | None = None
) -> CommandOutcome | None:
    """The stored outcome of a command (for an event's decision, `command_id` is the event id);
    with `programme_id`, only if the command belongs to that programme."""
    row = await db.fetchrow(
        f"""SELECT {OUTCOME_SELECT} FROM ledger.command_outcomes
            WHERE command_id = $1 AND ($2::text IS NULL OR programme_id = $2)""",
        command_id,
        programme_id,
    )
    return None if row is None else outcome_from_row(row)


async def get_outcome_rows(db: Executor, command_ids: Iterable[str]) -> list[asyncpg.Record]:
    """The stored outcome rows (`OUTCOME_SELECT`) of the given command ids, in one query."""
    return await db.fetch(
        f"SELECT {OUTCOME_SELECT} FROM ledger.command_outcomes WHERE command_id = ANY($1::text[])",
        list(set(command_ids)),
    )


async def get_outcomes(db: Executor, command_ids: Iterable[str]) -> dict[str, CommandOutcome]:
    """The stored outcomes of the given command ids, by command id; absent ids are left out."""
    return {
        row["command_id"]: outcome_from_row(row) for row in await get_outcome_rows(db, command_ids)
    }


async def _user_account(db: Executor, programme_id: str, user_id: str) -> asyncpg.Record | None:
    return await db.fetchrow(
        """SELECT account_id, balance FROM ledger.accounts
           WHERE programme_id = $1 AND kind = 'user' AND owner_id = $2""",
        programme_id,
        user_id,
    )


async def get_balance(db: Executor, programme_id: str, user_id: str) -> int:
    """The user's points; 0 for a user the ledger has never seen."""
    return await find_balance(db, programme_id, user_id) or 0


async def find_balance(db: Executor, programme_id: str, user_id: str) -> int | None:
    """The user's points; None for a user the programme's ledger has never booked for."""
    account = await _user_account(db, programme_id, user_id)
    return None if account is None else int(account["balance"])


EXPIRING_MAX = 12
PENDING_MAX = 100
"""A balance lists at most this many pending awards (earliest release first)."""


@dataclass(frozen=True, slots=True)
class Expiring:
    """Points of one lot that expire at the programme's local midnight beginning `expires_on`
    (`expires_at`, that instant)."""

    expires_on: date
    expires_at: datetime
    points: int


@dataclass(frozen=True, slots=True)
class PendingPoints:
    """Points of one pending award (`ledger.core.pending`): held for the user, not spendable,
    available from `release_at` (the programme's local midnight beginning `release_on`) or when
    an event of `confirmed_by` names `reference_id`, whichever comes first."""

    award: str
    reference_id: str
    points: int
    release_on: date | None
    release_at: datetime | None
    confirmed_by: str | None


@dataclass(frozen=True, slots=True)
class Holdings:
    """A user's balance, the points of it they can spend, what of those expires next, and the
    points held for them as pending (not in the balance)."""

    balance: int
    available: int
    expiring: list[Expiring]
    pending: list[PendingPoints] = field(default_factory=list)

    @property
    def pending_points(self) -> int:
        return sum(item.points for item in self.pending)


async def find_holdings(
    db: Executor, programme_id: str, user_id: str, expiring_max: int = EXPIRING_MAX
) -> Holdings | None:
    """The user's balance with the next `expiring_max` lots that expire, earliest first; None
    for a user the programme's ledger has never booked for."""
    _check_bound("expiring_max", expiring_max, EXPIRING_MAX)
    row = await db.fetchrow(
        """SELECT a.balance, a.lots::text AS lots, a.pending::text AS pending,
                  coalesce(p.config ->> 'time_zone', 'UTC') AS time_zone
           FROM ledger.accounts a JOIN programmes p USING (programme_id)
           WHERE a.programme_id = $1 AND a.kind = 'user' AND a.owner_id = $2""",
        programme_id,
        user_id,
    )
    if row is None:
        return None
    balance = int(row["balance"])
    lots = lot_rules.decode(row["lots"])
    zone = ZoneInfo(row["time_zone"])
    expiring = [
        Expiring(day, day_start(day, zone), points)
        for day, points in (
            (date.fromisoformat(text), points)
            for text, points in (lots or ())[:expiring_max]
            if text is not None
        )
    ]
    pending = [
        PendingPoints(
            lot.award_key,
            lot.reference_id,
            lot.points,
            None if lot.release_on is None else date.fromisoformat(lot.release_on),
            None if lot.release_on is None else day_start(date.fromisoformat(lot.release_on), zone),
            lot.confirmed_by,
        )
        for lot in sorted(
            pending_rules.decode(row["pending"]) or (),
            key=lambda lot: (lot.release_on or "9999-12-31", lot.award_key),
        )[:PENDING_MAX]
    ]
    return Holdings(balance, lot_rules.total(lots, balance), expiring, pending)


# The user's entries ($1: their account) and their pending awards ($2, $3: programme and user),
# in journal order. An award is booked to the programme's pending account, so it is found by its
# user (entries_pending_awards, 0190) and shown with the user's balance when it was booked: the
# balance it left unchanged.
_LISTED_SQL = f"""
    SELECT * FROM (
        SELECT e.entry_id, e.reason, e.variety, e.remote_transaction_id,
               e.source_event_id, e.idempotency_key, e.recorded_at, e.points,
               CASE WHEN e.credit_account_id = $1 THEN e.points ELSE -e.points END AS value,
               CASE WHEN e.credit_account_id = $1 THEN e.credit_balance_after
                    ELSE e.debit_balance_after END AS balance,
               NULL::text AS terms
        FROM ledger.entries e
        WHERE (e.credit_account_id = $1 OR e.debit_account_id = $1)
        UNION ALL
        SELECT e.entry_id, e.reason, e.variety, e.remote_transaction_id,
               e.source_event_id, e.idempotency_key, e.recorded_at, e.points, e.points,
               {balance_before_sql("$1", "e.entry_id")},
               e.pending::text
        FROM ledger.entries e
        WHERE e.pending IS NOT NULL AND e.programme_id = $2 AND e.user_id = $3
    ) listed
"""

_COUNT_SQL = """
    SELECT (SELECT count(*) FROM ledger.entries
            WHERE credit_account_id = $1 OR debit_account_id = $1)
         + (SELECT count(*) FROM ledger.entries
            WHERE pending IS NOT NULL AND programme_id = $2 AND user_id = $3)
"""


async def _transactions(
    db: Executor, programme_id: str, user_id: str, rows: list[asyncpg.Record]
) -> list[Transaction]:
    awards = await award_states(
        db,
        programme_id,
        (
            AwardRow(row["idempotency_key"], int(row["points"]), row["terms"])
            for row in rows
            if row["terms"] is not None
        ),
    )
    return [_transaction(user_id, row, awards.get(row["idempotency_key"])) for row in rows]


def _transaction(user_id: str, row: asyncpg.Record, pending: PendingAward | None) -> Transaction:
    value = int(row["value"])
    return Transaction(
        id=row["entry_id"],
        user_id=user_id,
        description=row["reason"],
        value=value,
        balance=row["balance"],
        transaction_type="Credit" if value > 0 else "Debit",
        variety=row["variety"],
        remote_transaction_id=row["remote_transaction_id"],
        source_event_id=row["source_event_id"],
        idempotency_key=row["idempotency_key"],
        created_at=row["recorded_at"],
        pending=pending,
    )


async def list_transactions(
    db: Executor, programme_id: str, user_id: str, *, after_id: int = 0, limit: int = 1_000
) -> list[Transaction]:
    """Oldest first, each with the balance after it, the user's pending awards among them.
    Page on with `after_id` (a transaction id)."""
    _check_bound("limit", limit, TRANSACTIONS_LIMIT_MAX)
    account = await _user_account(db, programme_id, user_id)
    if account is None:
        return []
    rows = await db.fetch(
        _LISTED_SQL + " WHERE entry_id > $4 ORDER BY entry_id LIMIT $5",
        account["account_id"],
        programme_id,
        user_id,
        after_id,
        limit,
    )
    return await _transactions(db, programme_id, user_id, rows)


async def last_transaction(db: Executor, programme_id: str, user_id: str) -> Transaction | None:
    """The latest transaction (a pending award too); its `balance` is the user's current
    balance."""
    account = await _user_account(db, programme_id, user_id)
    if account is None:
        return None
    row = await db.fetchrow(
        _LISTED_SQL + " ORDER BY entry_id DESC LIMIT 1",
        account["account_id"],
        programme_id,
        user_id,
    )
    if row is None:
        return None
    if row["balance"] != account["balance"]:
        raise LedgerInvariantError(
            f"account {account['account_id']}: cached balance {account['balance']} but the last "
            f"entry says {row['balance']}"
        )
    [found] = await _transactions(db, programme_id, user_id, [row])
    return found


async def transactions_page(
    db: Executor, programme_id: str, user_id: str, *, page: int, num_of_items: int
) -> TransactionPage:
    """Kwegg's `page` (from 1) and `numOfItems`, oldest first, with `totalCount` (pending
    awards included)."""
    _check_bound("page", page, 10**9)
    _check_bound("num_of_items", num_of_items, PAGE_SIZE_MAX)
    account = await _user_account(db, programme_id, user_id)
    if account is None:
        return TransactionPage([], 0)
    account_id = account["account_id"]
    total: Any = await db.fetchval(_COUNT_SQL, account_id, programme_id, user_id)
    rows = await db.fetch(
        _LISTED_SQL + " ORDER BY entry_id LIMIT $4 OFFSET $5",
        account_id,
        programme_id,
        user_id,
        num_of_items,
        (page - 1) * num_of_items,
    )
    transactions = await _transactions(db, programme_id, user_id, rows)
    return TransactionPage(transactions, int(total))


def _check_bound(name: str, value: int, maximum: int) -> None:
    if not 1 <= value <= maximum:
        raise ValueError(f"{name} must be between 1 and {maximum}, not {value}")
