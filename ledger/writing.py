"""Write a planned batch: outcomes, entries, balances, rule budgets' usage, consumer offsets,
notifications.

Outcomes and entries are inserted with `ON CONFLICT DO NOTHING RETURNING`, so the rows that come
back are exactly the new ones; if any planned row does not come back, it was stored already
(booked by another writer after the snapshot was read, or the batch was planned on the hint that
nothing in it is stored yet), and the whole batch is rolled back and planned again.
"""

from collections.abc import Iterable, Mapping
from typing import NamedTuple, cast

import orjson

from ledger.core.batch import RuleKey
from ledger.core.columns import ENTRY_COLUMNS, OUTCOME_COLUMNS, Row
from ledger.db_types import Connection, Executor
from ledger.exceptions import ConcurrentWriteError, LedgerInvariantError

NOTIFY_CHANNEL = "ledger_outcomes"
"""Announces committed outcomes. Each payload is a JSON array of command ids (`notified_ids`
reads it), as many arrays as a batch needs under Postgres' 8000-byte payload limit: one
notification per command cost the writer a twentieth of its throughput."""
NOTIFY_PAYLOAD_BYTES = 7_900
"""Postgres refuses a payload of 8000 bytes or more."""


def notify_payloads(command_ids: Iterable[str]) -> list[str]:
    """The `NOTIFY_CHANNEL` payloads announcing `command_ids`: JSON arrays, each as full as the
    size limit allows (a command id, 256 characters at most, is at most 1,538 bytes of JSON)."""
    payloads: list[str] = []
    chunk: list[bytes] = []
    size = 2  # the brackets
    for command_id in command_ids:
        encoded = orjson.dumps(command_id)
        if chunk and size + len(encoded) + 1 > NOTIFY_PAYLOAD_BYTES:
            payloads.append(_json_array(chunk))
            chunk, size = [], 2
        chunk.append(encoded)
        size += len(encoded) + 1
    if chunk:
        payloads.append(_json_array(chunk))
    return payloads


def _json_array(encoded: list[bytes]) -> str:
    return (b"[" + b",".join(encoded) + b"]").decode()


def notified_ids(payload: str) -> list[str]:
    """The command ids of one `NOTIFY_CHANNEL` payload."""
    ids = orjson.loads(payload)
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ValueError(f"not a JSON array of command ids: {payload[:100]!r}")
    return ids


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


_OUTCOME_LIST = ", ".join(OUTCOME_COLUMNS)
_COMMAND_ID = OUTCOME_COLUMNS.index("command_id")
_ENTRY_LIST = ", ".join(ENTRY_COLUMNS)

# One statement (one round trip) moves the staged rows into the ledger, announces the staged
# outcomes (NOTIFY is delivered at commit, and a batch commits only if every staged row was new:
# `write_batch`), sets the balances and stores the consumer's offsets
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
    notified AS (SELECT pg_notify($1, payload) FROM unnest($11::text[]) AS payload),
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
    SELECT (SELECT count(*) FROM new_outcomes) AS outcomes,
           (SELECT count(*) FROM notified) AS notifications,
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
            "staged_outcomes", records=writes.outcomes, columns=OUTCOME_COLUMNS
        )
    if writes.entries:
        await conn.copy_records_to_table(
            "staged_entries", records=writes.entries, columns=ENTRY_COLUMNS
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
        notify_payloads(cast(str, row[_COMMAND_ID]) for row in writes.outcomes),
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
