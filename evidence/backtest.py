"""`loyalty-admin backtest`: replays a programme's archived events under the configuration in
force when each was decided and under a candidate, from the users' states at `--from`, and
reports the difference (`evidence.report`). Reads the archive and the journal through
`ledger.reads`, the programme's versions from `programme_versions`."""

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import asyncpg

from evidence.replay import Replay
from evidence.report import Report, report_of
from ledger import reads
from processors.engine import CompiledProgramme, compile_programme
from schemas.events import EventV1
from schemas.programme import ProgrammeConfig

Progress = Callable[[int], None]
"""Told how many more events were replayed."""


class BacktestError(Exception):
    """The backtest cannot run: an unknown programme, a candidate of another programme."""


class Versions:
    """The programme's stored versions, each compiled when first needed."""

    def __init__(self, configs: dict[int, ProgrammeConfig], latest: int) -> None:
        self._configs = configs
        self._compiled: dict[int, CompiledProgramme] = {}
        self._latest = latest

    def __contains__(self, version: object) -> bool:
        """A version stored when these were read (a shadow run reads them again for a newer)."""
        return version in self._configs

    def __call__(self, version: int | None) -> CompiledProgramme:
        wanted = self._latest if version is None or version not in self._configs else version
        compiled = self._compiled.get(wanted)
        if compiled is None:
            compiled = self._compiled[wanted] = compile_programme(self._configs[wanted])
        return compiled


async def versions_of(pool: asyncpg.Pool, programme_id: str) -> Versions:
    rows = await pool.fetch(
        "SELECT version, config::text AS config FROM programme_versions WHERE programme_id = $1",
        programme_id,
    )
    if not rows:
        raise BacktestError(f"unknown programme '{programme_id}' (no stored version)")
    configs = {row["version"]: ProgrammeConfig.model_validate_json(row["config"]) for row in rows}
    return Versions(configs, max(configs))


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """The engine makes no reference cycles (tests/unit/engine/test_no_cycles.py), while the
    collector's walks over every user's state would grow with the users replayed."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
    """Feeds the programme's archived events up to `until` to `replay`, in decision order."""
    with _without_cycle_collection():
        async for chunk in reads.archived_events(pool, programme_id, None, until):
            for row in chunk:
                # Validated again: pydantic-core reads the JSON faster than orjson and a
                # model_construct would (4 against 6 µs).
                event = EventV1.model_validate_json(row.event)
                booked = row.outcome_status == "booked"
                replay.add(event, row.programme_version, row.points, row.external_points, booked)
            if progress is not None:
                progress(len(chunk))


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
) -> Report:
    check_window(programme_id, candidate, since, until)
    versions = await versions_of(pool, programme_id)
    replay = Replay(versions, compile_programme(candidate), since)
    await replay_archive(pool, programme_id, replay, until, progress)
    ledger_booked, ledger_now = await reads.booked_and_held_by_rule(
        pool, programme_id, since, until
    )
    budgets = {rule.rule_id: rule.budget_max for rule in candidate.rules if rule.budget_max}
    version = candidate.version
    return report_of(
        replay, programme_id, version, since, until, ledger_booked, budgets, ledger_now
    )
