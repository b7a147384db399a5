"""Working out a re-base (`loyalty-admin rebase`): the programme's archived events replayed as a
backtest replays them (`evidence.backtest`), each window event the ledger booked compared, rule
by rule, with what the journal holds for it now (`evidence.rebase.Plan`). Reads only; booking
the plan's commands is the CLI's (through the ledger writer, on the commands topic)."""

from datetime import datetime

import asyncpg

from evidence.backtest import Progress, check_window, replay_archive, versions_of
from evidence.rebase import Plan
from evidence.replaying import replay_of
from ledger import reads
from processors.engine import Decision
from schemas.events import EventV1
from schemas.programme import ProgrammeConfig


async def plan_rebase(
    pool: asyncpg.Pool,
    programme_id: str,
    candidate: ProgrammeConfig,
    since: datetime,
    until: datetime,
    progress: Progress | None = None,
) -> Plan:
    check_window(programme_id, candidate, since, until)
    versions = await versions_of(pool, programme_id)
    held = await reads.booked_by_event(pool, programme_id, since, until)
    plan = Plan(programme_id, candidate.version, since, until)

    def decided(event: EventV1, decision: Decision, booked: bool) -> None:
        if booked:
            plan.add(event, decision, held.get(event.event_id, {}))
        else:
            plan.refused_live += 1

    replay = replay_of(versions, candidate, since, decided)
    await replay_archive(pool, programme_id, replay, until, progress)
    return plan


async def balances(pool: asyncpg.Pool, plan: Plan) -> dict[str, int]:
    """The balances now of the users the plan corrects."""
    return await reads.balances_of(pool, plan.programme_id, sorted(plan.by_user()))
