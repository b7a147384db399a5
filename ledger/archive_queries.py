"""Reading the archive of decided events (ledger.decided_events, docs/decisions/0013) and what
the journal booked for them, for replays (backtest): a programme's events in decision order, in
bounded chunks through a server-side cursor, and the booked points by rule of a time range;
for re-bases (`loyalty-admin rebase`), what the journal holds for each archived event, rule by
rule, its corrections (entries of variety Adjustment naming the event) included."""

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Final, NamedTuple, cast

import asyncpg

from ledger.db_types import Connection, Executor

CHUNK_ROWS = 20_000
_SNAPSHOT_ID: Final = re.compile(r"[0-9A-F]+-[0-9A-F]+-[0-9]+")
_FAR_PAST = datetime.fromisoformat("0001-01-01T00:00:00+00:00")
_FAR_FUTURE = datetime.fromisoformat("9999-01-01T00:00:00+00:00")


_SIGNED = "CASE WHEN e.transaction_type = 'Credit' THEN e.points ELSE -e.points END"


class Share(NamedTuple):
    """Share `part` of `parts` disjoint shares of a programme's users (by a hash of the user
    id): every event of a user is in the same share."""

    part: int
    parts: int


WHOLE: Final = Share(0, 1)


class ReplayRow(NamedTuple):
    """What a replay needs of an archived event; asyncpg's records have this shape."""

    event: str
    """The event as the processors received it (events.v1 JSON)."""
    programme_version: int | None
    points: int
    """Net points decided live."""
    external_points: str | None
    """JSON: the programmatic rules' amounts by rule id, or None."""
    booked: bool
    """The ledger booked the decision (else refused it)."""
    user_id: str
    """The event's user, for a replay that takes each user's events together (a plain text
    column: cheaper to read than to decode the event for it)."""


# Only the columns a replay reads, the JSON as text (no decoding here): each byte and column
# read costs both processes for every event.
_REPLAY_SELECT = """
    SELECT event::text, programme_version, points, external_points::text,
           outcome_status = 'booked', user_id
    FROM ledger.decided_events
    WHERE programme_id = $1 AND occurred_at >= $2 AND occurred_at < $3
      AND ($4 = 1 OR abs(hashtext(user_id) % $4) = $5)
    ORDER BY seq
"""


@asynccontextmanager
async def snapshot_read(conn: Connection, snapshot: str | None = None) -> AsyncIterator[None]:
    """A read-only repeatable-read transaction: every read in it sees one snapshot, its own or
    `snapshot`, exported by another transaction (`exported_snapshot`) that must still be open
    when this one starts: several connections then read the same archive and journal."""
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        if snapshot is not None:
            await conn.execute(f"SET TRANSACTION SNAPSHOT '{_snapshot_id(snapshot)}'")
        yield


async def exported_snapshot(conn: Connection) -> str:
    """The snapshot of `conn`'s transaction (in `snapshot_read`), for others to import."""
    return str(await conn.fetchval("SELECT pg_export_snapshot()"))


async def archived_events(
    conn: Connection,
    programme_id: str,
    until: datetime | None = None,
    *,
    share: Share = WHOLE,
    chunk_rows: int = CHUNK_ROWS,
) -> AsyncIterator[Sequence[ReplayRow]]:
    """The programme's archived events that occurred before `until`, of the users of `share`,
    in decision order, in chunks of at most `chunk_rows`. Inside `snapshot_read` (a cursor
    lives in a transaction), so that a replay sees one snapshot."""
    # In the order of the primary key's index, partition by partition (a merge): a sort of a
    # programme's whole history would spill to disk before the first row came back.
    await conn.execute("SET LOCAL enable_sort = off")
    cursor = await conn.cursor(
        _REPLAY_SELECT, programme_id, _FAR_PAST, until or _FAR_FUTURE, share.parts, share.part
    )
    while True:
        rows = await cursor.fetch(chunk_rows)
        if not rows:
            return
        # asyncpg's records are read by position like the named tuple: no copy per row.
        yield cast(Sequence[ReplayRow], rows)


def _snapshot_id(snapshot: str) -> str:
    # SET TRANSACTION SNAPSHOT takes no parameter: the id is checked before it is spliced in.
    if not _SNAPSHOT_ID.fullmatch(snapshot):
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    return snapshot


class ArchivedEvent(NamedTuple):
    seq: int
    occurred_at: datetime
    user_id: str
    event_id: str
    event_type: str
    programme_version: int | None
    decision_status: str
    points: int
    awards: str
    """JSON: [{"rule_id", "rule_version", "kind", "points"}]."""
    event: str
    """The event as the processors received it (events.v1 JSON)."""
    external_points: str | None
    """JSON: the programmatic rules' amounts by rule id, or None."""
    outcome_status: str
    """`booked` or `rejected` (by the ledger)."""


class ArchiveChunk(NamedTuple):
    """Archived events of transactions in [from_tx, horizon), in decision order."""

    horizon: int
    """The oldest transaction still running when read: every row of an older one was seen."""
    rows: list[ArchivedEvent]


_SELECT_BY_TX = """
    SELECT seq, occurred_at, user_id, event_id, event_type, programme_version, decision_status,
           points, awards::text, event::text, external_points::text, outcome_status
    FROM ledger.decided_events
    WHERE programme_id = $1 AND tx_id >= $2::text::xid8 AND tx_id < $3::text::xid8
      AND ($4::text IS NULL OR NOT pg_visible_in_snapshot(tx_id, $4::text::pg_snapshot))
    ORDER BY seq
"""
_SELECT_BEFORE_TX = """
    SELECT seq, occurred_at, user_id, event_id, event_type, programme_version, decision_status,
           points, awards::text, event::text, external_points::text, outcome_status
    FROM ledger.decided_events
    WHERE programme_id = $1
      AND (tx_id IS NULL OR pg_visible_in_snapshot(tx_id, $2::text::pg_snapshot))
    ORDER BY seq
"""


async def archive_horizon(db: Executor) -> int:
    """The oldest transaction still running (or the next one): the archived rows of every
    transaction before it are committed (or will never be), so a follower of the archive that
    reads up to it, then from it, misses none and reads none twice (shadow runs, decision 0018)."""
    found = await db.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
    return int(found)


async def archived_by_transaction(
    pool: asyncpg.Pool,
    programme_id: str,
    from_tx: int,
    to_tx: int | None = None,
    *,
    seen_by: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> AsyncIterator[ArchiveChunk]:
    """The programme's events archived by transactions in [from_tx, to_tx) in decision order,
    in chunks of at most `chunk_rows`, and the horizon of the read: `to_tx`, or when None the
    snapshot's own horizon (`archive_horizon`). At least one chunk (empty when none). `seen_by`:
    a snapshot (pg_snapshot's text) whose committed transactions are left out (a shadow run's
    start: they are its history)."""
    async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        horizon = await archive_horizon(conn) if to_tx is None else to_tx
        cursor = await conn.cursor(_SELECT_BY_TX, programme_id, str(from_tx), str(horizon), seen_by)
        rows = await cursor.fetch(chunk_rows)
        yield ArchiveChunk(horizon, [ArchivedEvent(*row.values()) for row in rows])
        while len(rows) == chunk_rows:
            rows = await cursor.fetch(chunk_rows)
            if rows:
                yield ArchiveChunk(horizon, [ArchivedEvent(*row.values()) for row in rows])


async def archived_before_snapshot(
    pool: asyncpg.Pool, programme_id: str, snapshot: str, *, chunk_rows: int = CHUNK_ROWS
) -> AsyncIterator[list[ArchivedEvent]]:
    """The programme's events archived by the transactions committed when `snapshot` (a
    pg_snapshot's text) was taken (and those archived before transactions were recorded), in
    decision order, in chunks of at most `chunk_rows`."""
    async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        await conn.execute("SET LOCAL enable_sort = off")  # the primary key's order, as above
        cursor = await conn.cursor(_SELECT_BEFORE_TX, programme_id, snapshot)
        while True:
            rows = await cursor.fetch(chunk_rows)
            if not rows:
                return
            yield [ArchivedEvent(*row.values()) for row in rows]


async def count_archived(
    db: Executor, programme_id: str, since: datetime | None = None, until: datetime | None = None
) -> int:
    found = await db.fetchval(
        """SELECT count(*) FROM ledger.decided_events
           WHERE programme_id = $1 AND occurred_at >= $2 AND occurred_at < $3""",
        programme_id,
        since or _FAR_PAST,
        until or _FAR_FUTURE,
    )
    return int(found or 0)


async def booked_and_held_by_rule(
    db: Executor, programme_id: str, since: datetime | None = None, until: datetime | None = None
) -> tuple[dict[str, int], dict[str, int]]:
    """By rule, for the archived events of [since, until): the net points the decisions booked
    (earns positive, redemptions negative; a re-base's corrections, variety Adjustment, left
    out: what a replay of the configuration in force must give) and what the journal holds
    now, a re-base's corrections included (what a candidate that was re-based gives). One read
    of the journal for both."""
    rows = await db.fetch(
        f"""SELECT e.rule_id,
                   coalesce(sum({_SIGNED}) FILTER (WHERE e.variety <> 'Adjustment'), 0) AS booked,
                   sum({_SIGNED}) AS held
            FROM ledger.decided_events AS d
            JOIN ledger.entries AS e
              ON e.source_event_id = d.event_id AND e.programme_id = d.programme_id
            WHERE d.programme_id = $1 AND d.occurred_at >= $2 AND d.occurred_at < $3
              AND e.reverses_entry_id IS NULL
            GROUP BY e.rule_id""",
        programme_id,
        since or _FAR_PAST,
        until or _FAR_FUTURE,
    )
    booked = {str(row["rule_id"]): int(row["booked"]) for row in rows if row["booked"]}
    held = {str(row["rule_id"]): int(row["held"]) for row in rows}
    return booked, held


class BookedForRule(NamedTuple):
    """What the journal holds for one archived event and one rule."""

    points: int
    """Net: the decision's entry and every correction of it."""
    entry_id: int | None
    """The decision's own entry (None: the decision booked nothing for the rule)."""


async def booked_by_event(
    db: Executor, programme_id: str, since: datetime | None = None, until: datetime | None = None
) -> dict[str, dict[str, BookedForRule]]:
    """By archived event of [since, until) and rule: the net points the journal holds for it,
    corrections included (a re-base's entries of variety Adjustment carry the event's id and the
    rule's in their lineage), and the decision's own entry."""
    rows = await db.fetch(
        f"""SELECT e.source_event_id, e.rule_id, sum({_SIGNED}) AS points,
                   min(e.entry_id) FILTER (WHERE e.variety <> 'Adjustment') AS entry_id
            FROM ledger.decided_events AS d
            JOIN ledger.entries AS e
              ON e.source_event_id = d.event_id AND e.programme_id = d.programme_id
            WHERE d.programme_id = $1 AND d.occurred_at >= $2 AND d.occurred_at < $3
              AND e.reverses_entry_id IS NULL AND e.rule_id IS NOT NULL
            GROUP BY e.source_event_id, e.rule_id""",
        programme_id,
        since or _FAR_PAST,
        until or _FAR_FUTURE,
    )
    found: dict[str, dict[str, BookedForRule]] = {}
    for row in rows:
        booked = BookedForRule(int(row["points"]), row["entry_id"])
        found.setdefault(str(row["source_event_id"]), {})[str(row["rule_id"])] = booked
    return found


async def balances_of(db: Executor, programme_id: str, user_ids: list[str]) -> dict[str, int]:
    """The users' balances now (0 for a user without an account)."""
    rows = await db.fetch(
        """SELECT owner_id, balance FROM ledger.accounts
           WHERE programme_id = $1 AND kind = 'user' AND owner_id = ANY($2::text[])""",
        programme_id,
        user_ids,
    )
    found = {str(row["owner_id"]): int(row["balance"]) for row in rows}
    return {user: found.get(user, 0) for user in user_ids}
