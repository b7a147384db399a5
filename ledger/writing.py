"""Write a planned batch: outcomes, entries, balances, rule budgets' usage, consumer offsets,
notifications.

Outcomes and entries are inserted with `ON CONFLICT DO NOTHING RETURNING`, so the rows that come
back are exactly the new ones; if any planned row does not come back, it was stored already
(booked by another writer after the snapshot was read, or the batch was planned on the hint that
nothing in it is stored yet), and the whole batch is rolled back and planned again.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

import orjson

from ledger.core.accounts import AccountKey
from ledger.core.batch import Outcome, PlannedEntry, RuleKey, SourcePosition
from ledger.db_types import Connection, Executor
from ledger.exceptions import ConcurrentWriteError, LedgerInvariantError

NOTIFY_CHANNEL = "ledger_outcomes"


class OutcomeRow(NamedTuple):
    """One per command of the batch (a tuple: cheap to build thousands of)."""

    payload_sha256: bytes
    programme_id: str
    user_id: str | None
    source_event_id: str | None
    source: SourcePosition | None
    outcome: Outcome


_OUTCOME_COLUMNS = (
    "command_id", "payload_sha256", "programme_id", "user_id", "status", "reason_code",
    "reason_message", "points", "balance_after", "explanation", "source_event_id", "source_topic",
    "source_partition", "source_offset", "recorded_at",
)  # fmt: skip
_ENTRY_COLUMNS = (
    "entry_id", "idempotency_key", "payload_sha256", "command_id", "programme_id", "user_id",
    "transaction_type", "variety", "points", "debit_account_id", "credit_account_id",
    "debit_balance_after", "credit_balance_after", "reason", "remote_transaction_id",
    "counterparty_user_id", "reverses_entry_id", "source_event_id", "rule_id", "rule_version",
    "occurred_at", "recorded_at",
)  # fmt: skip

# Rows reach Postgres by COPY into per-session staging tables, then move into the ledger with one
# INSERT ... SELECT ... ON CONFLICT DO NOTHING each (in `_WRITE`). COPY sends each value through
# its codec once; the same rows as unnest() arrays cost several times more client CPU (asyncpg
# inspects every array element). ON COMMIT DELETE ROWS empties them at every commit, and a
# rolled-back batch takes its staged rows (or the tables themselves, if it created them) with it.
_STAGING_DDL = """
    SET LOCAL client_min_messages = warning;
    CREATE TEMP TABLE IF NOT EXISTS staged_outcomes
        (LIKE ledger.command_outcomes) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS staged_entries
        (LIKE ledger.entries) ON COMMIT DELETE ROWS;
"""


def outcome_records(rows: Iterable[OutcomeRow], recorded_at: datetime) -> list[tuple[object, ...]]:
    """The staged_outcomes rows, in `_OUTCOME_COLUMNS` order."""
    records: list[tuple[object, ...]] = []
    for row in rows:
        outcome, source = row.outcome, row.source
        explanation = outcome.explanation
        records.append(
            (
                outcome.command_id,
                row.payload_sha256,
                row.programme_id,
                row.user_id,
                outcome.status,
                outcome.reason_code,
                outcome.reason,
                outcome.points,
                outcome.balance_after,
                None if explanation is None else orjson.dumps(explanation).decode(),
                row.source_event_id,
                *((None, None, None) if source is None else source),
                recorded_at,
            )
        )
    return records


async def allocate_entry_ids(conn: Connection, count: int) -> list[int]:
    """Ids drawn before the insert, so a reversal can name an entry of the same batch."""
    if count == 0:
        return []
    rows = await conn.fetch(
        "SELECT nextval('ledger.entry_id_seq') AS id FROM generate_series(1, $1)", count
    )
    return sorted(row["id"] for row in rows)


def entry_records(
    entries: Sequence[PlannedEntry],
    entry_ids: Sequence[int],
    known_ids: Mapping[str, int],
    account_ids: Mapping[AccountKey, int],
    recorded_at: datetime,
) -> list[tuple[object, ...]]:
    """The staged_entries rows, in `_ENTRY_COLUMNS` order."""
    records: list[tuple[object, ...]] = []
    for entry_id, entry in zip(entry_ids, entries, strict=True):
        booking = entry.booking
        lineage = booking.lineage
        records.append(
            (
                entry_id,
                booking.idempotency_key,
                entry.payload_sha256,
                entry.command_id,
                entry.programme_id,
                entry.user_id,
                booking.transaction_type,
                booking.variety,
                booking.points,
                account_ids[entry.debit],
                account_ids[entry.credit],
                entry.debit_balance_after,
                entry.credit_balance_after,
                booking.reason,
                booking.remote_transaction_id,
                booking.counterparty_user_id,
                None if booking.reverses is None else known_ids[booking.reverses],
                lineage.source_event_id,
                lineage.rule_id,
                lineage.rule_version,
                lineage.occurred_at,
                recorded_at,
            )
        )
    return records


class Writes(NamedTuple):
    """Everything a planned batch writes, as the rows Postgres receives."""

    outcomes: list[tuple[object, ...]]
    entries: list[tuple[object, ...]]
    balances: Mapping[int, int]
    """The new balance by account id."""
    consumer_group: str | None = None
    next_offsets: Mapping[tuple[str, int], int] = {}
    rule_usage: Mapping[RuleKey, int] = {}
    """The new usage of each rule budget the batch changes (rows locked by the batch)."""


_OUTCOME_LIST = ", ".join(_OUTCOME_COLUMNS)
_ENTRY_LIST = ", ".join(_ENTRY_COLUMNS)

# One statement (one round trip) moves the staged rows into the ledger, announces the new
# outcomes (only the rows that come back), sets the balances and stores the consumer's offsets
# (GREATEST: a writer that lost its partition in a rebalance cannot move the position back)
# and the usage of the rule budgets it changed (none in most batches: empty arrays).
# Its parts see the same snapshot and touch different rows; the statement-level checks on the
# journal run when it ends, as they would after separate statements.
_WRITE = f"""
    WITH new_outcomes AS (
        INSERT INTO ledger.command_outcomes ({_OUTCOME_LIST})
        SELECT {_OUTCOME_LIST} FROM staged_outcomes
        ON CONFLICT (command_id) DO NOTHING
        RETURNING command_id),
    notified AS (SELECT pg_notify($1, command_id) FROM new_outcomes),
    new_entries AS (
        INSERT INTO ledger.entries ({_ENTRY_LIST})
        SELECT {_ENTRY_LIST} FROM staged_entries
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING 1),
    balanced AS (
        UPDATE ledger.accounts AS a SET balance = u.balance
        FROM unnest($2::bigint[], $3::bigint[]) AS u(account_id, balance)
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
    SELECT (SELECT count(*) FROM notified) AS outcomes,
           (SELECT count(*) FROM new_entries) AS entries,
           (SELECT count(*) FROM balanced) AS balances,
           (SELECT count(*) FROM positioned) AS offsets,
           (SELECT count(*) FROM used) AS rule_budgets
"""


async def write_batch(conn: Connection, writes: Writes) -> None:
    """Stage the rows (COPY), then write them in one statement; raises ConcurrentWriteError if
    any planned outcome or entry was stored by another writer since the snapshot was read."""
    await conn.execute(_STAGING_DDL)
    if writes.outcomes:
        await conn.copy_records_to_table(
            "staged_outcomes", records=writes.outcomes, columns=_OUTCOME_COLUMNS
        )
    if writes.entries:
        await conn.copy_records_to_table(
            "staged_entries", records=writes.entries, columns=_ENTRY_COLUMNS
        )
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
    )
    if written is None:
        raise LedgerInvariantError("the batch's write returned no row")
    _expect_all("command outcomes", len(writes.outcomes), written["outcomes"])
    _expect_all("journal entries", len(writes.entries), written["entries"])
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


async def load_offsets(conn: Executor, consumer_group: str, topic: str) -> dict[int, int]:
    rows = await conn.fetch(
        """SELECT partition, next_offset FROM ledger.consumer_offsets
           WHERE consumer_group = $1 AND topic = $2""",
        consumer_group,
        topic,
    )
    return {row["partition"]: row["next_offset"] for row in rows}


def _expect_all(what: str, planned: int, inserted: int) -> None:
    if inserted != planned:
        missing = planned - inserted
        raise ConcurrentWriteError(f"{missing} of {planned} {what} were booked by another writer")
