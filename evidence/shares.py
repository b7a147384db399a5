"""A backtest's replay in several processes, each the events of one share of the users
(`reads.Share`, by a hash of the user id), all reading one snapshot of the archive.

Why the sum of the shares is the whole replay: a decision depends on the event, its user's
state and the programme, so a process that replays every event of its users, each user's in
decision order, gives each of them the decisions one process would, however it interleaves
its users (a worker takes them user by user, a group of rows at a time, for speed). The one
thing users share is a rule's budget (`budget_used`, across all users): a share sees only its
own users' use, so its replay is exact only if no budget ran out. That is checked on the
merged outcome: when, in either arm, some budgeted rule's use over all users reaches the
smallest `budget_max` the rule has in any configuration replayed, an award may have been cut
(a cut leaves a share's use at the limit), and the backtest replays again in one process, in
decision order (`within_budgets`, `evidence.backtest`). Below that, no award is cut in one
process or in the shares, whatever the order.

A worker is a new interpreter (spawned, not forked: the parent holds an event loop and a
pool's connections); it tells the parent of its progress and sends its `Outcome` back through
one queue. Bounded: `WORKERS_MAX` processes, a chunk of archive rows each at a time."""

import asyncio
import gc
import multiprocessing
import os
import queue
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.process import BaseProcess
from typing import Final

import asyncpg

from evidence.core.replay import Outcome, Replay
from evidence.replaying import (
    Progress,
    Versions,
    replay_of,
    replay_share,
)
from ledger import reads
from schemas.programme import ProgrammeConfig

WORKERS_MAX: Final = 32
EVENTS_PER_WORKER_MIN: Final = 100_000
"""Fewer events than this per process and a worker's start (an interpreter importing the
engine, about a second) costs more than its share saves."""
POLL_S: Final = 0.5
STOP_S: Final = 5.0
GROUP_ROWS: Final = 100_000
"""Archive rows a worker takes at a time to replay user by user (`replaying.replay_share`): 50,000
gained a little less, 200,000 no more, each group's rows held at once (≈40 MB)."""


class ShareFailed(Exception):
    """A worker process failed; its reason (the exception and where) is the message."""


@dataclass(frozen=True, slots=True)
class Job:
    """What a worker needs, picklable: configurations as JSON, the snapshot to read."""

    database_url: str
    snapshot: str
    programme_id: str
    versions: dict[int, str]
    candidate: str
    since: datetime | None
    until: datetime | None
    share: reads.Share
    group_rows: int


def workers_for(events: int, cpus: int | None) -> int:
    """Processes for a replay of `events` archived events: one per CPU, at most one per
    `EVENTS_PER_WORKER_MIN` events, at least one."""
    return max(1, min(cpus or 1, events // EVENTS_PER_WORKER_MIN, WORKERS_MAX))


def budget_limits(configs: Sequence[ProgrammeConfig]) -> dict[str, int]:
    """By budgeted rule: the smallest `budget_max` it has in any of the configurations."""
    limits: dict[str, int] = {}
    for config in configs:
        for rule in config.rules:
            if rule.budget_max is not None:
                held = limits.get(rule.rule_id)
                limits[rule.rule_id] = (
                    rule.budget_max if held is None else min(held, rule.budget_max)
                )
    return limits


def within_budgets(outcome: Outcome, limits: Mapping[str, int]) -> bool:
    """Each arm used less of a rule's budget than its smallest `budget_max`: none ran out.
    (Used up exactly, it may have cut an award in one share, which order decides.)"""
    return all(
        used.get(rule_id, 0) < limit
        for used in (outcome.current_budget_used, outcome.candidate_budget_used)
        for rule_id, limit in limits.items()
    )


async def replay_in_shares(
    database_url: str,
    snapshot: str,
    programme_id: str,
    versions: Versions,
    candidate: ProgrammeConfig,
    window: tuple[datetime | None, datetime | None],
    workers: int,
    progress: Progress | None = None,
    group_rows: int = GROUP_ROWS,
) -> Outcome:
    """The outcomes of `workers` processes, each replaying one share of the users from the
    exported `snapshot`, merged. Each takes its users' events in groups of `group_rows`, user
    by user (`replaying.replay_share`): the caller checks that no budget ran out."""
    texts = {number: config.model_dump_json() for number, config in versions.configs.items()}
    since, until = window
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    processes = []
    for index in range(workers):
        job = Job(database_url, snapshot, programme_id, texts, candidate.model_dump_json(),
                  since, until, reads.Share(index, workers), group_rows)  # fmt: skip
        processes.append(context.Process(target=work, args=(job, messages), daemon=True))
    for process in processes:
        process.start()
    try:
        return await _collected(messages, processes, progress)
    finally:
        for process in processes:
            process.join(STOP_S)
            if process.is_alive():
                process.terminate()
                process.join(STOP_S)


async def _collected(
    messages: "multiprocessing.Queue[tuple[str, object]]",
    processes: Sequence[BaseProcess],
    progress: Progress | None,
) -> Outcome:
    loop = asyncio.get_running_loop()
    merged = Outcome()
    done = 0
    while done < len(processes):
        message = await loop.run_in_executor(None, _next, messages)
        if message is None:
            if any(process.exitcode not in (None, 0) for process in processes):
                raise ShareFailed("a backtest worker process ended without its outcome")
            continue
        kind, content = message
        if kind == "progress" and isinstance(content, int):
            if progress is not None:
                progress(content)
        elif kind == "done" and isinstance(content, Outcome):
            merged.merge(content)
            done += 1
        else:
            raise ShareFailed(str(content))
    return merged


def _next(messages: "multiprocessing.Queue[tuple[str, object]]") -> tuple[str, object] | None:
    try:
        return messages.get(timeout=POLL_S)
    except queue.Empty:
        return None


def work(job: Job, messages: "multiprocessing.Queue[tuple[str, object]]") -> None:
    """A worker process's body: its share's outcome, or why it failed, to the parent. Ends
    with `os._exit` once the message is flushed: freeing a share's user states one object at
    a time cost about a seventh of its replay's CPU (bench/RESULTS.md, session 10), and the
    system takes the process's memory back at once. Nothing else is left to close: the
    connection was closed, the outcome sent."""
    gc.disable()  # for the process's life: the engine makes no cycles (`paused_cycle_collection`)
    try:
        outcome, _kept = asyncio.run(
            _replayed(job, lambda count: messages.put(("progress", count)))
        )
        messages.put(("done", outcome))
    except Exception as exc:  # every failure goes back to the parent, which raises it
        where = traceback.format_exc(limit=-1).strip().splitlines()[-3:]
        messages.put(("failed", f"backtest worker {job.share.part}: {exc!r} ({' '.join(where)})"))
    messages.close()
    messages.join_thread()  # the feeder thread has written every message to the pipe
    os._exit(0)


async def _replayed(job: Job, progress: Progress) -> tuple[Outcome, Replay]:
    """The share's outcome, and its replay, kept alive for `work` to exit without freeing it."""
    configs = {
        number: ProgrammeConfig.model_validate_json(text) for number, text in job.versions.items()
    }
    versions = Versions(configs, max(configs))
    candidate = ProgrammeConfig.model_validate_json(job.candidate)
    conn = await asyncpg.connect(job.database_url)
    try:
        # No `paused_cycle_collection` here: `work` disabled the collector for the process.
        async with reads.snapshot_read(conn, job.snapshot):
            replay = replay_of(versions, candidate, job.since)
            await replay_share(conn, job.programme_id, replay, job.until, progress, job.share,
                               job.group_rows)  # fmt: skip
            outcome = replay.outcome()
    finally:
        await conn.close()
    return outcome, replay
