"""Write a planned batch: outcomes, entries, postings, balances, consumer offsets, notifications.

Outcomes and entries are inserted with `ON CONFLICT DO NOTHING RETURNING`, so the rows that come
back are exactly the new ones; if any planned row does not come back, another writer booked it
after the snapshot was read, and the whole batch is rolled back and planned again.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson

from ledger.core.accounts import AccountKey
from ledger.core.batch import PlannedEntry, SourcePosition
from ledger.db_types import Connection, Executor
from ledger.exceptions import ConcurrentWriteError, LedgerInvariantError
from schemas.ledger import CommandOutcome

NOTIFY_CHANNEL = "ledger_outcomes"


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    payload_sha256: bytes
    programme_id: str
    user_id: str | None
    source_event_id: str | None
    source: SourcePosition | None
    outcome: CommandOutcome


async def insert_outcomes(
    conn: Connection, rows: Sequence[OutcomeRow], recorded_at: datetime
) -> None:
    if not rows:
        return
    outcomes = [row.outcome for row in rows]
    inserted = await conn.fetch(
        """INSERT INTO ledger.command_outcomes (command_id, payload_sha256, programme_id, user_id,
               status, reason_code, reason_message, points, balance_after, explanation,
               source_event_id, source_topic, source_partition, source_offset, recorded_at)
           SELECT u.*, $15::timestamptz FROM unnest($1::text[], $2::bytea[], $3::text[],
               $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[],
               $10::jsonb[], $11::text[], $12::text[], $13::integer[], $14::bigint[]) AS u
           ON CONFLICT (command_id) DO NOTHING
           RETURNING command_id""",
        [o.command_id for o in outcomes],
        [row.payload_sha256 for row in rows],
        [row.programme_id for row in rows],
        [row.user_id for row in rows],
        [str(o.status) for o in outcomes],
        [None if o.reason_code is None else str(o.reason_code) for o in outcomes],
        [o.reason for o in outcomes],
        [o.points for o in outcomes],
        [o.balance_after for o in outcomes],
        [None if o.explanation is None else orjson.dumps(o.explanation).decode() for o in outcomes],
        [row.source_event_id for row in rows],
        [None if row.source is None else row.source.topic for row in rows],
        [None if row.source is None else row.source.partition for row in rows],
        [None if row.source is None else row.source.offset for row in rows],
        recorded_at,
    )
    _expect_all("command outcomes", len(rows), len(inserted))
    await conn.execute(
        "SELECT pg_notify($1, c) FROM unnest($2::text[]) AS c",
        NOTIFY_CHANNEL,
        [o.command_id for o in outcomes],
    )


async def allocate_entry_ids(conn: Connection, count: int) -> list[int]:
    """Ids drawn before the insert, so a reversal can name an entry of the same batch."""
    if count == 0:
        return []
    rows = await conn.fetch(
        "SELECT nextval('ledger.entry_id_seq') AS id FROM generate_series(1, $1)", count
    )
    return sorted(row["id"] for row in rows)


async def insert_entries(
    conn: Connection,
    entries: Sequence[PlannedEntry],
    entry_ids: Sequence[int],
    known_ids: Mapping[str, int],
    recorded_at: datetime,
) -> None:
    """`known_ids`: entry id by idempotency key, for every entry a reversal may name."""
    if not entries:
        return
    bookings = [entry.booking for entry in entries]
    lineages = [booking.lineage for booking in bookings]
    reverses = [None if b.reverses is None else known_ids[b.reverses] for b in bookings]
    inserted = await conn.fetch(
        """INSERT INTO ledger.entries (entry_id, idempotency_key, payload_sha256, command_id,
               programme_id, user_id, transaction_type, variety, points, reason,
               remote_transaction_id, counterparty_user_id, reverses_entry_id, source_event_id,
               rule_id, rule_version, occurred_at, recorded_at)
           SELECT u.*, $18::timestamptz FROM unnest($1::bigint[], $2::text[], $3::bytea[],
               $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[],
               $10::text[], $11::text[], $12::text[], $13::bigint[], $14::text[], $15::text[],
               $16::integer[], $17::timestamptz[]) AS u
           ON CONFLICT (idempotency_key) DO NOTHING
           RETURNING entry_id""",
        list(entry_ids),
        [b.idempotency_key for b in bookings],
        [entry.payload_sha256 for entry in entries],
        [entry.command_id for entry in entries],
        [entry.programme_id for entry in entries],
        [entry.user_id for entry in entries],
        [str(b.transaction_type) for b in bookings],
        [str(b.variety) for b in bookings],
        [b.points for b in bookings],
        [b.reason for b in bookings],
        [b.remote_transaction_id for b in bookings],
        [b.counterparty_user_id for b in bookings],
        reverses,
        [lineage.source_event_id for lineage in lineages],
        [lineage.rule_id for lineage in lineages],
        [lineage.rule_version for lineage in lineages],
        [lineage.occurred_at for lineage in lineages],
        recorded_at,
    )
    _expect_all("journal entries", len(entries), len(inserted))


async def copy_postings(
    conn: Connection,
    entries: Sequence[PlannedEntry],
    entry_ids: Sequence[int],
    account_ids: Mapping[AccountKey, int],
) -> None:
    """COPY: postings hang off entries that were just inserted, so they cannot conflict."""
    if not entries:
        return
    records = [
        (
            entry_id,
            account_ids[entry.debit],
            account_ids[entry.credit],
            entry.booking.points,
            entry.debit_balance_after,
            entry.credit_balance_after,
        )
        for entry_id, entry in zip(entry_ids, entries, strict=True)
    ]
    await conn.copy_records_to_table(
        "postings",
        schema_name="ledger",
        columns=(
            "entry_id",
            "debit_account_id",
            "credit_account_id",
            "amount",
            "debit_balance_after",
            "credit_balance_after",
        ),
        records=records,
    )


async def update_balances(
    conn: Connection,
    balances: Mapping[AccountKey, int],
    account_ids: Mapping[AccountKey, int],
) -> None:
    if not balances:
        return
    ids = [account_ids[key] for key in balances]
    status = await conn.execute(
        """UPDATE ledger.accounts AS a SET balance = u.balance
           FROM unnest($1::bigint[], $2::bigint[]) AS u(account_id, balance)
           WHERE a.account_id = u.account_id""",
        ids,
        list(balances.values()),
    )
    if status != f"UPDATE {len(ids)}":
        raise LedgerInvariantError(f"balance update touched {status!r}, expected {len(ids)} rows")


async def store_offsets(
    conn: Connection, consumer_group: str, next_offsets: Mapping[tuple[str, int], int]
) -> None:
    """GREATEST: a writer that lost its partition in a rebalance cannot move the position back."""
    if not next_offsets:
        return
    await conn.execute(
        """INSERT INTO ledger.consumer_offsets (consumer_group, topic, partition, next_offset)
           SELECT $1, u.topic, u.partition, u.next_offset
           FROM unnest($2::text[], $3::integer[], $4::bigint[]) AS u(topic, partition, next_offset)
           ON CONFLICT (consumer_group, topic, partition) DO UPDATE
           SET next_offset = GREATEST(ledger.consumer_offsets.next_offset, EXCLUDED.next_offset),
               updated_at = now()""",
        consumer_group,
        [topic for topic, _ in next_offsets],
        [partition for _, partition in next_offsets],
        list(next_offsets.values()),
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
