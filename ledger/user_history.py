"""A user's history as the business console shows it ("why these points?"): the journal entries
on the user's account, newest first, each naming the command that booked it (whose stored
outcome carries the decision's explanation: `queries.get_outcome`), and the tier the user was
last assigned, read from the stored decisions of `tier.assigned` events.

The processors hold each user's tier in their own state; nothing else stores it. A decision of
a `tier.assigned` record is stored like any other outcome, its explanation naming the new tier
with the reason code `tier_assigned` (processors.engine.decide), and a partial index finds the
user's latest one (deploy/migrations/0105_console_people.sql)."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ledger.db_types import Executor
from schemas.reasons import ReasonCode

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


@dataclass(frozen=True, slots=True)
class TierAssignment:
    tier: str
    command_id: str
    """The `tier.assigned` event's id (its decision's command)."""
    recorded_at: datetime


_ENTRY_SQL = """
    SELECT e.entry_id, e.command_id, e.idempotency_key, e.variety, e.reason,
           e.remote_transaction_id, e.counterparty_user_id, e.reverses_entry_id,
           e.source_event_id, e.rule_id, e.rule_version, e.occurred_at, e.recorded_at,
           CASE WHEN e.credit_account_id = a.account_id THEN e.points ELSE -e.points END AS points,
           CASE WHEN e.credit_account_id = a.account_id THEN e.credit_balance_after
                ELSE e.debit_balance_after END AS balance_after
    FROM ledger.accounts a
    JOIN ledger.entries e ON e.credit_account_id = a.account_id OR e.debit_account_id = a.account_id
    WHERE a.programme_id = $1 AND a.kind = 'user' AND a.owner_id = $2
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
        _ENTRY_SQL + " AND ($3::bigint IS NULL OR e.entry_id < $3) ORDER BY e.entry_id DESC "
        "LIMIT $4",
        programme_id,
        user_id,
        before_id,
        limit,
    )
    return [_entry(row) for row in rows]


async def user_entry(
    db: Executor, programme_id: str, user_id: str, entry_id: int
) -> UserEntry | None:
    """The entry, if it is on the user's account in that programme."""
    row = await db.fetchrow(_ENTRY_SQL + " AND e.entry_id = $3", programme_id, user_id, entry_id)
    return None if row is None else _entry(row)


def _entry(row: asyncpg.Record) -> UserEntry:
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
    )


async def assigned_tier(db: Executor, programme_id: str, user_id: str) -> TierAssignment | None:
    """The tier of the user's latest decided `tier.assigned` event; None if never assigned
    (the user is then in the programme's default tier)."""
    # The code is written into the statement, as in the index's predicate, so that the planner
    # can use the partial index whatever plan it caches.
    row = await db.fetchrow(
        f"""SELECT explanation ->> 'tier' AS tier, command_id, recorded_at
            FROM ledger.command_outcomes
            WHERE programme_id = $1 AND user_id = $2 AND status = 'booked'
              AND (explanation ->> 'reason_code') = '{ReasonCode.TIER_ASSIGNED.value}'
            ORDER BY recorded_at DESC, command_id DESC LIMIT 1""",
        programme_id,
        user_id,
    )
    if row is None or row["tier"] is None:
        return None
    return TierAssignment(row["tier"], row["command_id"], row["recorded_at"])
