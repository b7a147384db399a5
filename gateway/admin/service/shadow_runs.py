"""A programme's shadow runs (issue 17, docs/decisions/0018): a candidate configuration started
beside the live one (its decisions computed by `loyalty-shadow` and stored, never booked),
listed, stopped, and reported on over any period, as a backtest is. Starting and stopping are
changes (editors; audited); listing and reports are reads (viewers too)."""

from datetime import datetime
from typing import Final

import asyncpg
from pydantic import JsonValue

from evidence.report import Report
from evidence.shadow import report as shadow_report
from evidence.shadow import store
from evidence.shadow.store import Run
from gateway.admin.service import audit, programmes
from gateway.admin.service.actors import Actor
from gateway.admin.service.errors import Conflict, Invalid, NotFound
from schemas.programme import ProgrammeConfig

RUNNING_PER_PROGRAMME_MAX: Final = 5
"""Each running run keeps two states per user of its programme in the worker's memory."""
LIST_MAX: Final = 100


def audited(run: Run) -> dict[str, JsonValue]:
    return {
        "run_id": run.run_id,
        "status": run.status,
        "candidate_version": run.candidate_version,
        "started_at": run.started_at.isoformat(),
        "stopped_at": None if run.stopped_at is None else run.stopped_at.isoformat(),
    }


async def start(
    pool: asyncpg.Pool, actor: Actor, programme_id: str, candidate: ProgrammeConfig
) -> Run:
    """The run shadows every event archived from now on (Conflict when the programme already
    has RUNNING_PER_PROGRAMME_MAX running)."""
    actor.require_editor(programme_id)
    await programmes.get(pool, actor, programme_id)
    if candidate.programme_id != programme_id:
        raise Invalid(
            {}, [f"the candidate is programme '{candidate.programme_id}', not '{programme_id}'"]
        )
    async with pool.acquire() as connection, connection.transaction():
        # One start at a time per programme, so the bound holds.
        await connection.execute(
            "SELECT 1 FROM programmes WHERE programme_id = $1 FOR UPDATE", programme_id
        )
        if await store.running_count(connection, programme_id) >= RUNNING_PER_PROGRAMME_MAX:
            raise Conflict(
                f"programme '{programme_id}' has {RUNNING_PER_PROGRAMME_MAX} running shadow "
                "runs already: stop one first"
            )
        run = await store.start(connection, candidate, actor.label)
        await audit.record(
            connection, actor, audit.Action.SHADOW_RUN_STARTED, "shadow_run", str(run.run_id),
            programme_id, None, audited(run),
        )  # fmt: skip
    return run


async def get(pool: asyncpg.Pool, actor: Actor, run_id: int) -> Run:
    run = await store.get(pool, run_id) if 0 < run_id < 2**63 else None
    if run is None or not actor.sees(run.programme_id):
        raise NotFound(f"no shadow run {run_id}")
    return run


async def stop(pool: asyncpg.Pool, actor: Actor, run_id: int) -> Run:
    """Stopped from now on (the worker lets it go); its decisions stay for reports. Stopping
    a stopped run changes nothing."""
    before = await get(pool, actor, run_id)
    actor.require_editor(before.programme_id)
    if before.status == "stopped":
        return before
    async with pool.acquire() as connection, connection.transaction():
        after = await store.stop(connection, run_id)
        assert after is not None  # runs are never deleted
        await audit.record(
            connection, actor, audit.Action.SHADOW_RUN_STOPPED, "shadow_run", str(run_id),
            after.programme_id, audited(before), audited(after),
        )  # fmt: skip
    return after


async def listed(pool: asyncpg.Pool, actor: Actor, programme_id: str) -> list[Run]:
    """The programme's runs, newest first (at most LIST_MAX)."""
    await programmes.get(pool, actor, programme_id)
    return await store.runs(pool, [programme_id], LIST_MAX)


async def decisions_within(
    pool: asyncpg.Pool, run: Run, since: datetime | None, until: datetime | None
) -> int:
    """How many stored decisions a report of [since, until) reads (to bound it beforehand)."""
    if since is None and until is None:
        return run.decisions
    return await store.count_decisions(pool, run.run_id, since, until)


async def report(
    pool: asyncpg.Pool,
    actor: Actor,
    run_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[Run, Report]:
    """The live decisions beside the candidate's for the events of [since, until)."""
    if since is not None and until is not None and since >= until:
        raise Invalid({"to": ["must be after from"]})
    run = await get(pool, actor, run_id)
    return run, await shadow_report.report(pool, run, since, until)
