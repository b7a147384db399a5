"""The shadow runs' tables (`shadow_runs`, `shadow_decisions`, migration 0180; the sums of
`shadow_user_points`, 0191): starting, stopping and listing runs, storing a run's decisions
idempotently with its position in the archive and its running sums, and reading them back for
a report."""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Final, Literal, get_type_hints

import asyncpg
import orjson

from evidence.shadowing import ShadowDecision
from ledger import reads
from schemas.programme import ProgrammeConfig

Status = Literal["running", "stopped"]
READ_CHUNK_ROWS: Final = 10_000
_FAR_PAST = datetime.fromisoformat("0001-01-01T00:00:00+00:00")
_FAR_FUTURE = datetime.fromisoformat("9999-01-01T00:00:00+00:00")


@dataclass(frozen=True, slots=True)
class Run:
    run_id: int
    programme_id: str
    candidate: ProgrammeConfig
    status: Status
    started_by: str
    started_at: datetime
    stopped_at: datetime | None
    start_snapshot: str
    """The snapshot (pg_snapshot's text) taken at the start: the archived rows it sees are
    history, the others are shadowed."""
    start_tx: int
    """The start snapshot's xmin: following starts there."""
    position_tx: int
    """Followed up to this transaction (exclusive)."""
    followed_at: datetime | None
    """When the worker last caught up with the archive."""
    decisions: int
    """Events shadowed (each compared once)."""
    points: int = 0
    """Net points of the shadowed events under the candidate (over the whole run)."""
    live_points: int = 0
    """Net points of the shadowed events as decided live."""
    users_affected: int = 0
    """Users whose candidate points over the run differ from their live ones."""

    @property
    def candidate_version(self) -> int:
        return self.candidate.version


_COLUMNS = """run_id, programme_id, candidate::text AS candidate, status, started_by, started_at,
    stopped_at, start_snapshot::text AS start_snapshot, start_tx::text AS start_tx,
    position_tx::text AS position_tx, followed_at, decisions, points, live_points,
    users_affected"""


def _run(row: asyncpg.Record) -> Run:
    return Run(
        run_id=row["run_id"],
        programme_id=row["programme_id"],
        candidate=ProgrammeConfig.model_validate_json(row["candidate"]),
        status=row["status"],
        started_by=row["started_by"],
        started_at=row["started_at"],
        stopped_at=row["stopped_at"],
        start_snapshot=row["start_snapshot"],
        start_tx=int(row["start_tx"]),
        position_tx=int(row["position_tx"]),
        followed_at=row["followed_at"],
        decisions=row["decisions"],
        points=row["points"],
        live_points=row["live_points"],
        users_affected=row["users_affected"],
    )


async def start(conn: reads.Connection, candidate: ProgrammeConfig, started_by: str) -> Run:
    """Inside the caller's transaction: the run, shadowing what is archived from now on
    (what the statement's snapshot does not see), and its partition of shadow_decisions."""
    row = await conn.fetchrow(
        f"""INSERT INTO shadow_runs (programme_id, candidate, candidate_version, status,
                                     started_by, start_snapshot, start_tx, position_tx)
            SELECT $1, $2::json, $3, 'running', $4, snapshot, pg_snapshot_xmin(snapshot),
                   pg_snapshot_xmin(snapshot)
            FROM (SELECT pg_current_snapshot() AS snapshot) AS now
            RETURNING {_COLUMNS}""",
        candidate.programme_id,
        candidate.model_dump_json(),
        candidate.version,
        started_by,
    )
    assert row is not None
    run_id = int(row["run_id"])
    await conn.execute(
        f"CREATE TABLE shadow_decisions_{run_id} PARTITION OF shadow_decisions "
        f"FOR VALUES IN ({run_id})"
    )
    return _run(row)


async def stop(conn: reads.Connection, run_id: int) -> Run | None:
    """The run stopped (None: no such run). A stopped run stays as it is."""
    row = await conn.fetchrow(
        f"""UPDATE shadow_runs
            SET status = 'stopped', stopped_at = coalesce(stopped_at, now())
            WHERE run_id = $1 RETURNING {_COLUMNS}""",
        run_id,
    )
    return None if row is None else _run(row)


async def get(db: reads.Executor, run_id: int) -> Run | None:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM shadow_runs WHERE run_id = $1", run_id)
    return None if row is None else _run(row)


async def runs(
    db: reads.Executor,
    programme_ids: Sequence[str] | None,
    limit: int,
    status: Status | None = None,
) -> list[Run]:
    """Newest first; `programme_ids` None: every programme's."""
    rows = await db.fetch(
        f"""SELECT {_COLUMNS} FROM shadow_runs
            WHERE ($1::text[] IS NULL OR programme_id = ANY($1::text[]))
              AND ($2::text IS NULL OR status = $2)
            ORDER BY run_id DESC LIMIT $3""",
        None if programme_ids is None else list(programme_ids),
        status,
        limit,
    )
    return [_run(row) for row in rows]


async def running_count(db: reads.Executor, programme_id: str) -> int:
    found = await db.fetchval(
        "SELECT count(*) FROM shadow_runs WHERE programme_id = $1 AND status = 'running'",
        programme_id,
    )
    return int(found or 0)


# shadow_decisions' columns after run_id are ShadowDecision's fields, by name and in order, each
# of the SQL type its Python type maps to: the decision is written and read back without a list
# of its fields to keep in step (a new field needs only its column, in a new migration).
_SQL_TYPES: Final[dict[object, str]] = {
    str: "text", str | None: "text", int: "bigint", bool: "boolean", datetime: "timestamptz",
    dict[str, int]: "json",
}  # fmt: skip
_HINTS: Final = get_type_hints(ShadowDecision)
_DECISION_COLUMNS: Final = tuple(
    (field.name, _SQL_TYPES[_HINTS[field.name]]) for field in fields(ShadowDecision)
)
_NAMES: Final = ", ".join(name for name, _ in _DECISION_COLUMNS)
_ARRAYS: Final = ", ".join(
    f"${number}::{sql_type}[]" for number, (_, sql_type) in enumerate(_DECISION_COLUMNS, start=2)
)


def _column(decided: Sequence[ShadowDecision], name: str, sql_type: str) -> list[object]:
    values = [getattr(decision, name) for decision in decided]
    return [orjson.dumps(value).decode() for value in values] if sql_type == "json" else values


def _decision(row: asyncpg.Record) -> ShadowDecision:
    values = [
        orjson.loads(value) if sql_type == "json" else value
        for value, (_, sql_type) in zip(row.values(), _DECISION_COLUMNS, strict=True)
    ]
    return ShadowDecision(*values)


_INSERT = f"""
    WITH stored AS (
        INSERT INTO shadow_decisions (run_id, {_NAMES})
        SELECT $1, * FROM unnest({_ARRAYS})
        ON CONFLICT DO NOTHING
        RETURNING user_id, points, live_points
    ), by_user AS (
        SELECT user_id, sum(points)::bigint AS points, sum(live_points)::bigint AS live_points
        FROM stored GROUP BY user_id
    ), summed AS (
        INSERT INTO shadow_user_points AS total (run_id, user_id, points, live_points)
        SELECT $1, user_id, points, live_points FROM by_user
        ON CONFLICT (run_id, user_id) DO UPDATE
        SET points = total.points + excluded.points,
            live_points = total.live_points + excluded.live_points
        RETURNING user_id, points, live_points
    )
    SELECT (SELECT count(*) FROM stored) AS stored,
           (SELECT coalesce(sum(points), 0) FROM stored)::bigint AS points,
           (SELECT coalesce(sum(live_points), 0) FROM stored)::bigint AS live_points,
           -- The users this batch made differ, less those it made equal again (RETURNING
           -- gives the sums after it; before it they were less this batch's own).
           (SELECT coalesce(sum((after.points <> after.live_points)::int
                                - (after.points - mine.points
                                   <> after.live_points - mine.live_points)::int), 0)
            FROM summed AS after JOIN by_user AS mine USING (user_id))::bigint AS affected
"""

_COUNT = """
    UPDATE shadow_runs
    SET decisions = decisions + $2, points = points + $3, live_points = live_points + $4,
        users_affected = users_affected + $5
    WHERE run_id = $1
"""


async def save(pool: asyncpg.Pool, run_id: int, decided: Sequence[ShadowDecision]) -> int:
    """The decisions, each once (a worker that restarts decides some again: they collide);
    counted and summed (per user, and on the run) in the same transaction. How many were new."""
    if not decided:
        return 0
    columns = [_column(decided, name, sql_type) for name, sql_type in _DECISION_COLUMNS]
    async with pool.acquire() as conn, conn.transaction():
        sums = await conn.fetchrow(_INSERT, run_id, *columns)
        assert sums is not None  # an aggregate answers one row
        await conn.execute(_COUNT, run_id, sums["stored"], sums["points"],
                           sums["live_points"], sums["affected"])  # fmt: skip
    return int(sums["stored"])


async def advance(pool: asyncpg.Pool, run_id: int, position_tx: int, decisions_max: int) -> bool:
    """The run has followed the archive up to `position_tx`; a run that reached
    `decisions_max` is stopped. False when the run is stopped (by someone, or by the bound)."""
    status = await pool.fetchval(
        """UPDATE shadow_runs
           SET position_tx = greatest(position_tx, $2::text::xid8), followed_at = now(),
               status = CASE WHEN decisions >= $3 THEN 'stopped' ELSE status END,
               stopped_at = CASE WHEN decisions >= $3 THEN coalesce(stopped_at, now())
                                 ELSE stopped_at END
           WHERE run_id = $1 AND status = 'running'
           RETURNING status""",
        run_id,
        str(position_tx),
        decisions_max,
    )
    return bool(status == "running")


async def count_decisions(
    db: reads.Executor, run_id: int, since: datetime | None, until: datetime | None
) -> int:
    """How many of the run's decisions are of events that occurred in [since, until)."""
    found = await db.fetchval(
        """SELECT count(*) FROM shadow_decisions
           WHERE run_id = $1 AND occurred_at >= $2 AND occurred_at < $3""",
        run_id,
        since or _FAR_PAST,
        until or _FAR_FUTURE,
    )
    return int(found or 0)


async def decisions(
    pool: asyncpg.Pool, run_id: int, since: datetime | None, until: datetime | None
) -> AsyncIterator[list[ShadowDecision]]:
    """The run's decisions of the events that occurred in [since, until), in decision order,
    in chunks; one snapshot."""
    async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        cursor = await conn.cursor(
            f"""SELECT {_NAMES} FROM shadow_decisions
                WHERE run_id = $1 AND occurred_at >= $2 AND occurred_at < $3
                ORDER BY seq""",
            run_id,
            since or _FAR_PAST,
            until or _FAR_FUTURE,
        )
        while True:
            rows = await cursor.fetch(READ_CHUNK_ROWS)
            if not rows:
                return
            yield [_decision(row) for row in rows]
