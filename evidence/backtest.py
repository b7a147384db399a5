"""`loyalty-admin backtest`: replays a programme's archived events under the configuration in
force when each was decided and under a candidate, from the users' states at `--from`, and
reports the difference (`evidence.report`). Reads the archive and the journal through
`ledger.reads`, in one snapshot; the programme's versions from `programme_versions`. A large
archive is replayed in several processes, each a share of the users (`evidence.shares`), user by
user; one process replays user by user too when no rule has a budget, else in decision order."""

import asyncio
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from evidence.core.replay import Outcome, Replay
from evidence.replaying import (
    Progress,
    Versions,
    paused_cycle_collection,
    replay_of,
    replay_share,
)
from evidence.report import Report, report_of
from evidence.shares import GROUP_ROWS, budget_limits, replay_in_shares, within_budgets
from ledger import reads
from schemas.programme import ProgrammeConfig

__all__ = [
    "BacktestError",
    "Parallel",
    "Progress",
    "backtest",
    "check_window",
    "count",
    "replay_archive",
    "versions_of",
]


class BacktestError(Exception):
    """The backtest cannot run: an unknown programme, a candidate of another programme."""


@dataclass(frozen=True, slots=True)
class Parallel:
    """Replay in `workers` processes (> 1), each connecting to `database_url` and taking its
    users' events `group_rows` at a time, user by user (`evidence.shares`)."""

    database_url: str
    workers: int
    group_rows: int = GROUP_ROWS


async def versions_of(pool: asyncpg.Pool, programme_id: str) -> Versions:
    rows = await pool.fetch(
        "SELECT version, config::text AS config FROM programme_versions WHERE programme_id = $1",
        programme_id,
    )
    if not rows:
        raise BacktestError(f"unknown programme '{programme_id}' (no stored version)")
    configs = {row["version"]: ProgrammeConfig.model_validate_json(row["config"]) for row in rows}
    return Versions(configs, max(configs))


async def count(pool: asyncpg.Pool, programme_id: str, until: datetime | None) -> int:
    """Archived events a backtest up to `until` replays (history and window)."""
    return await reads.count_archived(pool, programme_id, None, until)


async def replay_archive(
    pool: asyncpg.Pool,
    programme_id: str,
    replay: Replay,
    until: datetime | None,
    progress: Progress | None,
) -> None:
    """Feeds the programme's archived events up to `until` to `replay`, in decision order, in
    this process."""
    async with pool.acquire() as conn, reads.snapshot_read(conn):
        with paused_cycle_collection():
            await replay_share(conn, programme_id, replay, until, progress)


def check_window(programme_id: str, candidate: ProgrammeConfig, since: datetime | None,
                 until: datetime | None) -> None:  # fmt: skip
    if candidate.programme_id != programme_id:
        raise BacktestError(
            f"the candidate is programme '{candidate.programme_id}', not '{programme_id}'"
        )
    if since is not None and until is not None and since >= until:
        raise BacktestError("--from must be before --to")


async def backtest(
    pool: asyncpg.Pool,
    programme_id: str,
    candidate: ProgrammeConfig,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: Progress | None = None,
    parallel: Parallel | None = None,
) -> Report:
    check_window(programme_id, candidate, since, until)
    versions = await versions_of(pool, programme_id)
    limits = budget_limits([*versions.configs.values(), candidate])
    async with pool.acquire() as conn, reads.snapshot_read(conn):
        if parallel is None or parallel.workers < 2:
            # User by user only when no rule has a budget: then the order across users never
            # matters, and nothing has to be checked or replayed again.
            group_rows = 0 if limits else GROUP_ROWS
            outcome = await _replayed(conn, programme_id, versions, candidate, since, until,
                                      progress, group_rows)  # fmt: skip
            journal = await reads.booked_and_held_by_rule(conn, programme_id, since, until)
        else:
            snapshot = await reads.exported_snapshot(conn)
            shares = asyncio.create_task(replay_in_shares(
                parallel.database_url, snapshot, programme_id, versions, candidate,
                (since, until), parallel.workers, progress, parallel.group_rows,
            ))  # fmt: skip
            try:  # the journal's totals are read while the workers replay
                journal = await reads.booked_and_held_by_rule(conn, programme_id, since, until)
            except BaseException:
                shares.cancel()
                raise
            outcome = await shares
            if not within_budgets(outcome, limits):
                # A budget ran out: which awards it cut depends on the order across users (the
                # shares took them user by user): replayed again, in decision order.
                outcome = await _replayed(conn, programme_id, versions, candidate, since, until,
                                          progress)  # fmt: skip
    ledger_booked, ledger_now = journal
    budgets = {rule.rule_id: rule.budget_max for rule in candidate.rules if rule.budget_max}
    version = candidate.version
    return report_of(
        outcome, programme_id, version, since, until, ledger_booked, budgets, ledger_now
    )


async def _replayed(
    conn: reads.Connection,
    programme_id: str,
    versions: Versions,
    candidate: ProgrammeConfig,
    since: datetime | None,
    until: datetime | None,
    progress: Progress | None,
    group_rows: int = 0,
) -> Outcome:
    """Replayed in this process: in decision order, or `group_rows` at a time user by user
    (`replay_share`)."""
    with paused_cycle_collection():
        replay = replay_of(versions, candidate, since)
        await replay_share(conn, programme_id, replay, until, progress, group_rows=group_rows)
        outcome = replay.outcome()
        del replay  # its states freed by reference counting, before the collector is back
    return outcome
