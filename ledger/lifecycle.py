"""Run a lifecycle command: expire a programme's due lots (or release its due pending awards)
in bounded chunks, one transaction each; what differs between the two is in
`ledger.lifecycle_actions`.

A chunk takes the first `chunk_accounts_max` accounts whose earliest lot is due (the partial
index `accounts_lots_due`, set-based; a release's: whose earliest pending lot is, by
`accounts_pending_due`), locks them with the programme's expired (pending) account in id order
(as every batch locks), plans the chunk (`ledger.core.expiring`, `ledger.core.releasing`,
pure), copies the entries in, writes the balances and lots, queues the `points.expired`
(`points.available`) webhooks and counts its progress in `ledger.lifecycle_runs`, all in one
transaction. The first chunk also stores the command's outcome; the run ends with a
transaction that finds nothing due: an expiry's queues the `points.expiring` notices; it marks
the run finished and stores the consumer's offset past the command. A restart in between reads
the command again and continues: what expired (or was released) is no longer open, so nothing
moves twice, and the offset was not moved past the command, so nothing is skipped.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import NamedTuple

import asyncpg
from pydantic import JsonValue

from ledger import storage
from ledger.core.accounts import AccountKey, ProgrammePolicy
from ledger.core.batch import Outcome, PlannedEntry
from ledger.core.columns import command_outcome_columns
from ledger.core.exceptions import LedgerInvariantError
from ledger.core.expiring import IncomingLifecycle
from ledger.core.rows import account_lots, account_pending, entry_record, outcome_record
from ledger.db_types import Connection
from ledger.lifecycle_actions import Action, action_of
from ledger.loading import AccountIds, load_outcomes, load_programmes, lock_accounts
from ledger.repository import with_retries
from schemas.ledger import OutcomeStatus, RejectionReason

log = logging.getLogger(__name__)

CHUNKS_MAX = 1_000_000
"""A run's chunks at most: far beyond any programme (a billion accounts at 1,000 a chunk)."""


class RunProgress(NamedTuple):
    chunks: int
    accounts: int
    lots: int
    points: int
    notices: int


class LifecycleReport(NamedTuple):
    outcome: Outcome
    entries: list[PlannedEntry]
    """Every entry the run booked in this call (a resumed run: those since it resumed)."""
    progress: RunProgress
    """The run's totals, over all its chunks (also those of a run before a restart)."""
    is_new: bool
    """False when the command had finished before (a repeat) or was refused as a conflict."""


class _Step(NamedTuple):
    finished: bool
    outcome: Outcome
    entries: list[PlannedEntry]
    progress: RunProgress
    is_new: bool


async def apply_lifecycle(
    pool: asyncpg.Pool,
    incoming: IncomingLifecycle,
    *,
    consumer_group: str | None = None,
    next_offsets: Mapping[tuple[str, int], int] | None = None,
    chunk_accounts_max: int = 2_000,
    attempts_max: int = 5,
    backoff_s: float = 0.05,
    on_retry: Callable[[BaseException], None] | None = None,
    on_chunk: Callable[[list[PlannedEntry], RunProgress], Awaitable[None]] | None = None,
    before_finish: Callable[[LifecycleReport], Awaitable[None]] | None = None,
    account_ids: AccountIds | None = None,
) -> LifecycleReport:
    """Every chunk until the run finishes; the consumer's offsets are stored with the last.
    `on_chunk` sees each committed chunk (the writer's metrics, tests that stop a run);
    `before_finish` runs inside the last transaction, before the offsets commit (the writer
    dead-letters a conflict there)."""
    booked: list[PlannedEntry] = []
    for _ in range(CHUNKS_MAX):
        step = await with_retries(
            pool,
            lambda conn: _chunk(
                conn,
                incoming,
                consumer_group,
                next_offsets or {},
                chunk_accounts_max,
                account_ids,
                before_finish,
            ),
            "lifecycle chunk",
            attempts_max,
            backoff_s,
            on_retry,
        )
        booked.extend(step.entries)
        if step.entries and on_chunk is not None:
            await on_chunk(step.entries, step.progress)
        if step.finished:
            return LifecycleReport(step.outcome, booked, step.progress, step.is_new)
    raise LedgerInvariantError(f"{incoming.command.command_id}: more than {CHUNKS_MAX} chunks")


async def _chunk(
    conn: Connection,
    incoming: IncomingLifecycle,
    consumer_group: str | None,
    next_offsets: Mapping[tuple[str, int], int],
    chunk_accounts_max: int,
    account_ids: AccountIds | None,
    before_finish: Callable[[LifecycleReport], Awaitable[None]] | None,
) -> _Step:
    command = incoming.command

    async def finishing(step: _Step) -> _Step:
        if before_finish is not None:
            await before_finish(LifecycleReport(step.outcome, [], step.progress, step.is_new))
        return step

    async with conn.transaction():
        recorded_at, programmes = await load_programmes(conn, [command.programme_id])
        policy = programmes.get(command.programme_id)
        if policy is None:
            refused = _refused(incoming, RejectionReason.UNKNOWN_PROGRAMME, "Programme not found")
            stored = await load_outcomes(conn, [command.command_id])
            rows = [] if stored else [_outcome_row(incoming, refused, recorded_at)]
            await _finish(conn, consumer_group, next_offsets, rows)
            return await finishing(_Step(True, refused, [], _NO_PROGRESS, not stored))
        run = await _run(conn, incoming)
        if run is None:  # the same id with another payload: never applied
            conflict = _refused(
                incoming,
                RejectionReason.IDEMPOTENCY_CONFLICT,
                "command id already used with a different payload",
            )
            await _finish(conn, consumer_group, next_offsets)
            return await finishing(_Step(True, conflict, [], _NO_PROGRESS, False))
        progress, finished, started = run
        outcome = _booked(incoming, recorded_at)
        if finished:
            await _finish(conn, consumer_group, next_offsets)
            return await finishing(_Step(True, outcome.repeated(), [], progress, False))
        outcomes = [] if started else [outcome]
        action = action_of(command)
        due_keys = await _due_accounts(
            conn, action, command.programme_id, command.local_day, chunk_accounts_max
        )
        if not due_keys:
            notices = await action.queue_notices(conn, incoming, policy)
            progress = await _mark_finished(conn, command.command_id, notices)
            rows = [_outcome_row(incoming, booked, recorded_at) for booked in outcomes]
            await _finish(conn, consumer_group, next_offsets, rows)
            return await finishing(_Step(True, outcome, [], progress, True))
        entries, progress = await _move(
            conn, incoming, action, due_keys, outcomes, recorded_at, account_ids, policy
        )
        return _Step(False, outcome, entries, progress, True)


_NO_PROGRESS = RunProgress(0, 0, 0, 0, 0)


def _booked(incoming: IncomingLifecycle, recorded_at: datetime) -> Outcome:
    command = incoming.command
    explanation: JsonValue = {
        "action": str(command.action),
        "local_day": command.local_day.isoformat(),
        "effective_at": command.effective_at.isoformat(),
    }
    return Outcome(
        command.command_id,
        OutcomeStatus.BOOKED,
        0,
        explanation=explanation,
        recorded_at=recorded_at,
    )


def _refused(incoming: IncomingLifecycle, code: RejectionReason, message: str) -> Outcome:
    return Outcome(incoming.command.command_id, OutcomeStatus.REJECTED, 0, message, None, code)


async def _run(
    conn: Connection, incoming: IncomingLifecycle
) -> tuple[RunProgress, bool, bool] | None:
    """(progress, finished, started before) of the command's run, created if it is new and
    locked; None if the command id was used with another payload."""
    command = incoming.command
    created = await conn.fetchrow(
        """INSERT INTO ledger.lifecycle_runs
               (command_id, payload_sha256, programme_id, action, local_day, effective_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (command_id) DO NOTHING
           RETURNING command_id""",
        command.command_id,
        incoming.payload_sha256,
        command.programme_id,
        str(command.action),
        command.local_day,
        command.effective_at,
    )
    row = await conn.fetchrow(
        """SELECT payload_sha256, chunks, accounts, lots, points, notices,
                  finished_at IS NOT NULL AS finished
           FROM ledger.lifecycle_runs WHERE command_id = $1 FOR UPDATE""",
        command.command_id,
    )
    if row is None:
        raise LedgerInvariantError(f"lifecycle run {command.command_id} vanished")
    if bytes(row["payload_sha256"]) != incoming.payload_sha256:
        return None
    progress = RunProgress(
        row["chunks"], row["accounts"], row["lots"], row["points"], row["notices"]
    )
    if created is None:
        # Started before: its outcome must be stored (with its first chunk).
        stored = await load_outcomes(conn, [command.command_id])
        if command.command_id not in stored:
            raise LedgerInvariantError(f"lifecycle run {command.command_id} has no outcome")
    return progress, bool(row["finished"]), created is None


async def _due_accounts(
    conn: Connection, action: Action, programme_id: str, day: object, limit: int
) -> list[tuple[int, str]]:
    """(account id, user id) of the first accounts with something due, by the partial index."""
    rows = await conn.fetch(action.due_accounts, programme_id, day, limit)
    return [(row[0], row[1]) for row in rows]


async def _move(
    conn: Connection,
    incoming: IncomingLifecycle,
    action: Action,
    due_keys: list[tuple[int, str]],
    outcomes: list[Outcome],
    recorded_at: datetime,
    account_ids: AccountIds | None,
    policy: ProgrammePolicy,
) -> tuple[list[PlannedEntry], RunProgress]:
    """One chunk of a run: what is due in these accounts moves (to or from the programme's
    account of the action), and is counted on the run."""
    command = incoming.command
    programme_id = command.programme_id
    programme_key = AccountKey.programme(programme_id, action.programme_account)
    users = [AccountKey.user(programme_id, user_id) for _, user_id in sorted(due_keys)]
    locked = await lock_accounts(conn, {programme_key, *users}, account_ids)
    chunk = action.plan(command, locked, users, programme_key, policy)
    entry_ids = await storage.allocate_entry_ids(conn, len(chunk.entries))
    ids = locked.ids
    at = recorded_at  # the transaction's time, as every batch stamps its rows
    rows = [
        entry_record(entry, entry_id, {}, ids, at)
        for entry, entry_id in zip(chunk.entries, entry_ids, strict=True)
    ]
    lots, due_days = account_lots(chunk.balances, chunk.lots)
    pending: list[str | None] = []  # none: the accounts keep their pending lots (an expiry)
    release_days: list[str | None] = []
    if chunk.pending is not None:
        pending, release_days = account_pending(chunk.balances, chunk.pending)
    await storage.write_batch(
        conn,
        storage.Writes(
            outcomes=[_outcome_row(incoming, outcome, at) for outcome in outcomes],
            entries=rows,
            balances={ids[key]: balance for key, balance in chunk.balances.items()},
            lots=lots,
            lots_next_due=due_days,
            pending=pending,
            pending_next_release=release_days,
        ),
    )
    await action.queue_webhooks(conn, incoming, chunk.entries)
    progress = await _count(
        conn, command.command_id, chunk.accounts, chunk.lots_moved, chunk.points_moved
    )
    if not chunk.entries:
        # Every account found due had nothing due once locked: only another writer running
        # the same command at once could do that, and its chunk has committed; go round again.
        log.warning("%s: %d accounts no longer due", command.command_id, len(due_keys))
    return chunk.entries, progress


def _outcome_row(
    incoming: IncomingLifecycle, outcome: Outcome, recorded_at: datetime
) -> tuple[object, ...]:
    command = incoming.command
    columns = command_outcome_columns(
        command.command_id,
        incoming.payload_sha256,
        command.programme_id,
        None,
        outcome.explanation,
        None,
        incoming.source,
    )
    return outcome_record(outcome, columns, recorded_at)


async def _count(
    conn: Connection, command_id: str, accounts: int, lots: int, points: int
) -> RunProgress:
    row = await conn.fetchrow(
        """UPDATE ledger.lifecycle_runs
           SET chunks = chunks + 1, accounts = accounts + $2, lots = lots + $3,
               points = points + $4
           WHERE command_id = $1
           RETURNING chunks, accounts, lots, points, notices""",
        command_id,
        accounts,
        lots,
        points,
    )
    if row is None:
        raise LedgerInvariantError(f"lifecycle run {command_id} vanished")
    return RunProgress(*row.values())


async def _mark_finished(conn: Connection, command_id: str, notices: int) -> RunProgress:
    row = await conn.fetchrow(
        """UPDATE ledger.lifecycle_runs SET finished_at = now(), notices = notices + $2
           WHERE command_id = $1
           RETURNING chunks, accounts, lots, points, notices""",
        command_id,
        notices,
    )
    if row is None:
        raise LedgerInvariantError(f"lifecycle run {command_id} vanished")
    return RunProgress(*row.values())


async def _finish(
    conn: Connection,
    consumer_group: str | None,
    next_offsets: Mapping[tuple[str, int], int],
    outcomes: list[tuple[object, ...]] | None = None,
) -> None:
    """Store the consumer's offsets past the command (and its outcome, if not stored yet)."""
    rows = outcomes or []
    await storage.write_batch(
        conn,
        storage.Writes(
            outcomes=rows,
            entries=[],
            balances={},
            consumer_group=consumer_group,
            next_offsets=next_offsets,
        ),
    )
