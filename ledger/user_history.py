"""A user's history as the business console shows it ("why these points?"): the journal entries
on the user's account and the user's pending awards (`ledger.pending_awards`), newest first,
each naming the command that booked it (whose stored outcome carries the decision's
explanation: `queries.get_outcome`), the user's tier and its changes.

The processors decide each user's tier in their own state. A decision that changes it (an
upgrade by points, a review's downgrade, a `tier.assigned` record) says so in its explanation's
`tier_change`, and the ledger's trigger keeps, in the booking's transaction, every change with
its reason (`ledger.tier_changes`) and each user's current tier and review day
(`ledger.user_tiers`; deploy/migrations/0170_tier_changes.sql)."""

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from ledger.db_types import Executor
from ledger.pending_awards import AwardRow, PendingAward, award_states, balance_before_sql

ENTRIES_PAGE_MAX = 200


@dataclass(frozen=True, slots=True)
class UserEntry:
    """One journal entry from the user's side: `points` is signed (negative for a debit)."""

    entry_id: int
    command_id: str
    idempotency_key: str
    transaction_type: str
    variety: str
    points: int
    balance_after: int
    reason: str
    remote_transaction_id: str | None
    counterparty_user_id: str | None
    reverses_entry_id: int | None
    source_event_id: str | None
    rule_id: str | None
    rule_version: int | None
    occurred_at: datetime | None
    recorded_at: datetime
    pending: PendingAward | None = None
    """For a pending award (`ledger.pending_awards`): where it stands. Its `points` are not in
    `balance_after` (the balance it left unchanged) until its release moves them there."""


@dataclass(frozen=True, slots=True)
class TierAssignment:
    tier: str
    command_id: str
    """The id of the event whose decision set it (or last renewed it)."""
    recorded_at: datetime
    reason: str = "manual"
    """Why the tier last changed: threshold_crossed, downgrade_policy or manual (a review that
    keeps the tier moves only `review_on`)."""
    review_on: date | None = None
    """The programme's local day the tier is reviewed (its period, or its grace, ends)."""


@dataclass(frozen=True, slots=True)
class TierChangeRow:
    command_id: str
    """The event whose decision changed the tier."""
    from_tier: str
    """Empty for an assignment recorded before changes were kept (issue 15's)."""
    to_tier: str
    reason: str
    review_on: date | None
    recorded_at: datetime


TIER_CHANGES_MAX = 100


_COLUMNS = """e.entry_id, e.command_id, e.idempotency_key, e.variety, e.reason,
    e.remote_transaction_id, e.counterparty_user_id, e.reverses_entry_id, e.source_event_id,
    e.rule_id, e.rule_version, e.occurred_at, e.recorded_at"""

# The entries on the user's account and the user's pending awards (booked to the programme's
# pending account, found by their user: entries_pending_awards, 0190), each award with the
# balance it left unchanged.
_ENTRY_SQL = f"""
    SELECT * FROM (
        SELECT {_COLUMNS},
               CASE WHEN e.credit_account_id = a.account_id THEN e.points
                    ELSE -e.points END AS points,
               CASE WHEN e.credit_account_id = a.account_id THEN e.credit_balance_after
                    ELSE e.debit_balance_after END AS balance_after,
               NULL::text AS terms
        FROM ledger.accounts a
        JOIN ledger.entries e
          ON e.credit_account_id = a.account_id OR e.debit_account_id = a.account_id
        WHERE a.programme_id = $1 AND a.kind = 'user' AND a.owner_id = $2
        UNION ALL
        SELECT {_COLUMNS}, e.points, {balance_before_sql("a.account_id", "e.entry_id")},
               e.pending::text
        FROM ledger.entries e
        LEFT JOIN ledger.accounts a
               ON a.programme_id = $1 AND a.kind = 'user' AND a.owner_id = $2
        WHERE e.pending IS NOT NULL AND e.programme_id = $1 AND e.user_id = $2
    ) listed
"""


async def user_entries(
    db: Executor,
    programme_id: str,
    user_id: str,
    *,
    before_id: int | None = None,
    limit: int = 50,
) -> list[UserEntry]:
    """Newest first; page on with `before_id` (the last entry id of the page)."""
    if not 1 <= limit <= ENTRIES_PAGE_MAX:
        raise ValueError(f"limit must be between 1 and {ENTRIES_PAGE_MAX}, not {limit}")
    rows = await db.fetch(
        _ENTRY_SQL + " WHERE ($3::bigint IS NULL OR entry_id < $3) ORDER BY entry_id DESC LIMIT $4",
        programme_id,
        user_id,
        before_id,
        limit,
    )
    return await _entries(db, programme_id, rows)


async def user_entry(
    db: Executor, programme_id: str, user_id: str, entry_id: int
) -> UserEntry | None:
    """The entry, if it is on the user's account in that programme."""
    row = await db.fetchrow(_ENTRY_SQL + " WHERE entry_id = $3", programme_id, user_id, entry_id)
    if row is None:
        return None
    [found] = await _entries(db, programme_id, [row])
    return found


async def _entries(db: Executor, programme_id: str, rows: list[asyncpg.Record]) -> list[UserEntry]:
    awards = await award_states(
        db,
        programme_id,
        (
            AwardRow(row["idempotency_key"], int(row["points"]), row["terms"])
            for row in rows
            if row["terms"] is not None
        ),
    )
    return [_entry(row, awards.get(row["idempotency_key"])) for row in rows]


def _entry(row: asyncpg.Record, pending: PendingAward | None) -> UserEntry:
    points = int(row["points"])
    return UserEntry(
        entry_id=row["entry_id"],
        command_id=row["command_id"],
        idempotency_key=row["idempotency_key"],
        transaction_type="Credit" if points > 0 else "Debit",
        variety=row["variety"],
        points=points,
        balance_after=int(row["balance_after"]),
        reason=row["reason"],
        remote_transaction_id=row["remote_transaction_id"],
        counterparty_user_id=row["counterparty_user_id"],
        reverses_entry_id=row["reverses_entry_id"],
        source_event_id=row["source_event_id"],
        rule_id=row["rule_id"],
        rule_version=row["rule_version"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        pending=pending,
    )


async def assigned_tier(db: Executor, programme_id: str, user_id: str) -> TierAssignment | None:
    """The user's tier as last decided; None if it never changed (the user is then in the
    programme's default tier)."""
    row = await db.fetchrow(
        """SELECT t.tier, t.command_id, t.reason, t.review_on,
                  coalesce(o.recorded_at, t.updated_at) AS recorded_at
           FROM ledger.user_tiers t
           LEFT JOIN ledger.command_outcomes o ON o.command_id = t.command_id
           WHERE t.programme_id = $1 AND t.user_id = $2""",
        programme_id,
        user_id,
    )
    if row is None:
        return None
    return TierAssignment(
        row["tier"], row["command_id"], row["recorded_at"], row["reason"], row["review_on"]
    )


async def tier_changes(
    db: Executor, programme_id: str, user_id: str, *, limit: int = 20
) -> list[TierChangeRow]:
    """The user's tier changes, newest first."""
    if not 1 <= limit <= TIER_CHANGES_MAX:
        raise ValueError(f"limit must be between 1 and {TIER_CHANGES_MAX}, not {limit}")
    rows = await db.fetch(
        """SELECT command_id, from_tier, to_tier, reason, review_on, recorded_at
           FROM ledger.tier_changes WHERE programme_id = $1 AND user_id = $2
           ORDER BY recorded_at DESC, command_id DESC LIMIT $3""",
        programme_id,
        user_id,
        limit,
    )
    return [TierChangeRow(**dict(row)) for row in rows]
