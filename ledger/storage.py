"""Write a planned batch: outcomes, entries, balances, rule budgets' usage, consumer offsets,
notifications.

Outcomes and entries are copied into their tables, whose keys refuse a row stored already
(booked by another writer after the snapshot was read, or the batch was planned on the hint that
nothing in it is stored yet); the whole batch is then rolled back and planned again.
"""

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import asyncpg

from ledger.core.batch import RuleKey
from ledger.core.columns import ARCHIVE_COLUMNS, ENTRY_COLUMNS, OUTCOME_COLUMNS, Row
from ledger.core.exceptions import ConcurrentWriteError, LedgerInvariantError
from ledger.db_types import Connection, Executor
from ledger.notifications import notify_payloads
from schemas.notifications import NOTIFY_CHANNEL

# Rows reach the ledger's tables by COPY: it sends each value through its codec once, where the
# same rows as unnest() arrays cost several times more client CPU (asyncpg inspects every array
# element). COPY has no ON CONFLICT: a row stored already violates its key, the transaction is
# rolled back, and `write_batch` says so with a ConcurrentWriteError. Staging the rows first
# (COPY into temporary tables, then INSERT ... ON CONFLICT DO NOTHING) cost a round trip for the
# tables' DDL and a truncation at every commit: Postgres took 27-30 % of a core at 500 events/s
# against 20-26 % without (`python -m bench.gateway`).
# The keys a booking stored already can violate (Postgres' names for the migrations' keys).
_IDEMPOTENCY_KEYS = frozenset({"command_outcomes_pkey", "entries_idempotency_key_key"})


async def allocate_entry_ids(conn: Connection, count: int) -> list[int]:
    """Ids drawn before the insert, so a reversal can name an entry of the same batch."""
    if count == 0:
        return []
    rows = await conn.fetch(
        "SELECT nextval('ledger.entry_id_seq') AS id FROM generate_series(1, $1)", count
    )
    return sorted(row["id"] for row in rows)


class Writes(NamedTuple):
    """Everything a planned batch writes, as the rows Postgres receives."""

    outcomes: list[Row]
    entries: list[Row]
    balances: Mapping[int, int]
    """The new balance by account id."""
    consumer_group: str | None = None
    next_offsets: Mapping[tuple[str, int], int] = {}
    rule_usage: Mapping[RuleKey, int] = {}
    """The new usage of each rule budget the batch changes (rows locked by the batch)."""
    archive: Sequence[Row] = ()
    """ledger.decided_events rows (their months' partitions exist: `ledger.archive`)."""
    lots: Sequence[str | None] = ()
    """The new lots of each account of `balances`, in its order (json text, None for none);
    empty: none of them stores lots."""
    lots_next_due: Sequence[str | None] = ()
    """When each account's earliest lot is due (ISO date), in the same order."""
    pending: Sequence[str | None] = ()
    """The new pending lots of each account of `balances`, in its order (jsonb text, None for
    none); empty: the accounts keep the pending lots they hold (a batch in which none holds
    any, an expiry, a funding)."""
    pending_next_release: Sequence[str | None] = ()
    """When each account's earliest pending lot is released (ISO date), in the same order."""


# After the COPYs, one statement (one round trip) announces the batch's outcomes (NOTIFY is
# delivered at commit), sets the balances and stores the consumer's offsets (GREATEST: a writer
# that lost its partition in a rebalance cannot move the position back) and the usage of the
# rule budgets it changed (none in most batches: empty arrays).
_WRITE = """
    WITH notified AS (SELECT pg_notify($1, payload) FROM unnest($11::text[]) AS payload),
    balanced AS (
        UPDATE ledger.accounts AS a
        SET balance = u.balance, lots = u.lots::json, lots_next_due = u.next_due::date,
            pending = CASE WHEN $16 THEN u.pending::jsonb ELSE a.pending END,
            pending_next_release = CASE WHEN $16 THEN u.next_release::date
                                        ELSE a.pending_next_release END
        FROM unnest($2::bigint[], $3::bigint[], $12::text[], $13::text[], $14::text[],
                    $15::text[])
            AS u(account_id, balance, lots, next_due, pending, next_release)
        WHERE a.account_id = u.account_id
        RETURNING 1),
    used AS (
        UPDATE ledger.rule_budget_usage AS b SET used_points = u.used_points
        FROM unnest($8::text[], $9::text[], $10::bigint[])
            AS u(programme_id, rule_id, used_points)
        WHERE b.programme_id = u.programme_id AND b.rule_id = u.rule_id
        RETURNING 1),
    positioned AS (
        INSERT INTO ledger.consumer_offsets (consumer_group, topic, partition, next_offset)
        SELECT $4, u.topic, u.partition, u.next_offset
        FROM unnest($5::text[], $6::integer[], $7::bigint[]) AS u(topic, partition, next_offset)
        ON CONFLICT (consumer_group, topic, partition) DO UPDATE
        SET next_offset = GREATEST(ledger.consumer_offsets.next_offset, EXCLUDED.next_offset),
            updated_at = now()
        RETURNING 1)
    SELECT (SELECT count(*) FROM notified) AS notifications,
           (SELECT count(*) FROM balanced) AS balances,
           (SELECT count(*) FROM positioned) AS offsets,
           (SELECT count(*) FROM used) AS rule_budgets
"""


async def write_batch(conn: Connection, writes: Writes) -> None:
    """Copy the rows in, then write the rest in one statement; raises ConcurrentWriteError if
    any planned outcome or entry was stored already (by another writer since the snapshot was
    read, or before a batch planned on the hint that nothing in it is stored)."""
    try:
        if writes.outcomes:
            await conn.copy_records_to_table(
                "command_outcomes",
                schema_name="ledger",
                records=writes.outcomes,
                columns=OUTCOME_COLUMNS,
            )
        if writes.entries:
            await conn.copy_records_to_table(
                "entries", schema_name="ledger", records=writes.entries, columns=ENTRY_COLUMNS
            )
        if writes.archive:
            await conn.copy_records_to_table(
                "decided_events",
                schema_name="ledger",
                records=writes.archive,
                columns=ARCHIVE_COLUMNS,
            )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name not in _IDEMPOTENCY_KEYS:
            raise
        raise ConcurrentWriteError(f"stored already: {exc.detail}") from exc
    offsets = writes.next_offsets if writes.consumer_group is not None else {}
    usage = writes.rule_usage
    written = await conn.fetchrow(
        _WRITE,
        NOTIFY_CHANNEL,
        list(writes.balances),
        list(writes.balances.values()),
        writes.consumer_group,
        [topic for topic, _ in offsets],
        [partition for _, partition in offsets],
        list(offsets.values()),
        [programme_id for programme_id, _ in usage],
        [rule_id for _, rule_id in usage],
        list(usage.values()),
        notify_payloads(writes.outcomes),
        *_lots_columns(writes),
        *_pending_columns(writes),
        bool(writes.pending),
    )
    if written is None:
        raise LedgerInvariantError("the batch's write returned no row")
    if written["balances"] != len(writes.balances):
        raise LedgerInvariantError(
            f"balance update touched {written['balances']} rows, expected {len(writes.balances)}"
        )
    if written["offsets"] != len(offsets):
        raise LedgerInvariantError(f"stored {written['offsets']} offsets of {len(offsets)}")
    if written["rule_budgets"] != len(usage):
        raise LedgerInvariantError(
            f"rule budget update touched {written['rule_budgets']} rows, expected {len(usage)}"
        )


# The days go as the ISO text the cores give them, cast by Postgres: no date object is made
# and encoded for every account a batch writes.
def _lots_columns(writes: Writes) -> tuple[Sequence[str | None], Sequence[str | None]]:
    """Both aligned with `balances`; all NULL when no account of the batch stores lots."""
    count = len(writes.balances)
    if not writes.lots:
        nothing: list[None] = [None] * count
        return nothing, nothing
    if len(writes.lots) != count or len(writes.lots_next_due) != count:
        raise LedgerInvariantError("lots and their due dates must align with the balances")
    return writes.lots, writes.lots_next_due


def _pending_columns(writes: Writes) -> tuple[Sequence[str | None], Sequence[str | None]]:
    """Both aligned with `balances`; all NULL (and unused) when the writes carry none."""
    count = len(writes.balances)
    if not writes.pending:
        nothing: list[None] = [None] * count
        return nothing, nothing
    if len(writes.pending) != count or len(writes.pending_next_release) != count:
        raise LedgerInvariantError("pending lots and their days must align with the balances")
    return writes.pending, writes.pending_next_release


async def load_offsets(conn: Executor, consumer_group: str, topic: str) -> dict[int, int]:
    rows = await conn.fetch(
        """SELECT partition, next_offset FROM ledger.consumer_offsets
           WHERE consumer_group = $1 AND topic = $2""",
        consumer_group,
        topic,
    )
    return {row["partition"]: row["next_offset"] for row in rows}
