"""One shadow run followed: its `Shadow` (the candidate's and the live users' states) built
from the archive when the worker takes the run up, then fed the events archived since, up to
the archive's safe horizon, each decision stored with the run (decision 0018)."""

import gc
import time
from dataclasses import dataclass, field

import asyncpg

from evidence.backtest import versions_of
from evidence.replaying import Versions
from evidence.shadow import metrics, store
from evidence.shadow.store import Run
from evidence.shadowing import Shadow
from ledger import reads
from processors.engine import compile_programme


@dataclass
class Follower:
    run_id: int
    programme_id: str
    shadow: Shadow
    versions: Versions
    position_tx: int
    start_snapshot: str
    """Rows it sees are history, never shadowed (0018)."""
    caught_up_at: float = field(default_factory=time.time)
    """When it last read up to the archive's horizon (epoch seconds): its lag."""


async def take_up(pool: asyncpg.Pool, run: Run, chunk_rows: int) -> Follower:
    """The run's states as they are at its position: the history before the run built under
    the versions in force, then the events the run shadowed already decided again (the same
    decisions: the engine is deterministic), not stored again."""
    versions = await versions_of(pool, run.programme_id)
    shadow = Shadow(versions, compile_programme(run.candidate))
    follower = Follower(
        run.run_id, run.programme_id, shadow, versions, run.position_tx, run.start_snapshot
    )
    enabled = gc.isenabled()
    gc.disable()  # as a backtest's replay: the engine makes no cycles
    try:
        history = reads.archived_before_snapshot(
            pool, run.programme_id, run.start_snapshot, chunk_rows=chunk_rows
        )
        async for rows in history:
            await _know_versions(pool, follower, rows)
            for row in rows:
                shadow.history(row)
        shadowed = reads.archived_by_transaction(
            pool, run.programme_id, run.start_tx, run.position_tx,
            seen_by=run.start_snapshot, chunk_rows=chunk_rows,
        )  # fmt: skip
        async for chunk in shadowed:
            await _know_versions(pool, follower, chunk.rows)
            for row in chunk.rows:
                shadow.decide(row)
    finally:
        if enabled:
            gc.enable()
    return follower


async def follow(pool: asyncpg.Pool, follower: Follower, chunk_rows: int,
                 decisions_max: int) -> bool:  # fmt: skip
    """The events archived since the follower's position, up to the horizon, decided and
    stored. False when the run is stopped (the worker lets it go)."""
    horizon = follower.position_tx
    chunks = reads.archived_by_transaction(
        pool, follower.programme_id, follower.position_tx,
        seen_by=follower.start_snapshot, chunk_rows=chunk_rows,
    )  # fmt: skip
    async for chunk in chunks:
        await _know_versions(pool, follower, chunk.rows)
        decided = [follower.shadow.decide(row) for row in chunk.rows]
        stored = await store.save(pool, follower.run_id, decided)
        metrics.DECISIONS.labels(follower.programme_id).inc(stored)
        horizon = chunk.horizon
    running = await store.advance(pool, follower.run_id, horizon, decisions_max)
    follower.position_tx = horizon
    follower.caught_up_at = time.time()
    return running


async def _know_versions(
    pool: asyncpg.Pool, follower: Follower, rows: list[reads.ArchivedEvent]
) -> None:
    """A programme version stored since the versions were read (the live configuration
    changed during the run): read them again, so each event is decided live as it was."""
    if all(row.programme_version is None or row.programme_version in follower.versions
           for row in rows):  # fmt: skip
        return
    follower.versions = await versions_of(pool, follower.programme_id)
    follower.shadow.live.programme_of = follower.versions
