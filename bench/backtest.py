"""`python -m bench.backtest`: a backtest's events per second, from archive read to report.

Archives `--events` events (1,000,000 by default) of `bench.engine`'s workload (50 rules over 10
event types, caps, frequencies, streaks, tiers, partners, rule budgets; 20,000 users over 90
days) the way the system does: the engine decides them in order and the ledger's repository books
each batch of commands, with their source events, into the journal and the archive
(ledger.decided_events), in a database of its own. Then it times `evidence.backtest.backtest`:
reading the archive (each worker its share of the users, user by user: `evidence.shares`),
deciding every event under the version in force and under a candidate (one rule's points
doubled), the journal's booked totals and the report. Starts the local Postgres if it is not
running (Kafka is not needed). Ends with
`RESULT backtest_events_per_s=N` (each event replayed under both configurations) and a `CPU`
line of the same per CPU second of this process and its worker processes, together (Postgres,
reading, is another process): the rate per core.

`--workers N` replays in N processes, each a share of the users (`evidence.shares`; default:
one per CPU, at most one per 100,000 events). `--replay-only` skips the archiving and replays
the archive a previous run left in the database, so that replays can be compared in turns;
`--archive-only` stops after the archiving (on a loaded machine, archiving a million events
takes the better part of an hour).
"""

import argparse
import asyncio
import gc
import os
import resource
import time

import asyncpg

from bench import engine
from deploy import db
from deploy.local import postgres
from deploy.local.settings import LocalSettings
from evidence.backtest import Parallel, backtest
from evidence.shares import workers_for
from ledger.core.batch import IncomingCommand
from ledger.repository import Batch, apply_batch
from processors.engine import UserState, compile_programme, decide, ledger_command_json
from schemas.ledger import LedgerCommand
from schemas.programme import ProgrammeConfig

# Its own database, dropped at the start; LOYALTY_BENCH_DATABASE names another.
DATABASE = os.environ.get("LOYALTY_BENCH_DATABASE", "loyalty_bench") + "_backtest"
COMMANDS_PER_BATCH = 5_000


def start(settings: LocalSettings, fresh: bool) -> str:
    postgres.start(settings)
    postgres.wait_ready(settings)
    if fresh:
        postgres.drop_database(settings, DATABASE)
    postgres.ensure_database(settings, DATABASE)
    url = settings.database_url(DATABASE)
    db.migrate(url)
    return url


async def store_programme(pool: asyncpg.Pool, config: ProgrammeConfig) -> None:
    text = config.model_dump_json()
    await pool.execute(
        """INSERT INTO programmes (programme_id, name, budget_mode, config, config_version)
           VALUES ($1, $1, 'unfunded', $2::jsonb, $3)""",
        config.programme_id,
        text,
        config.version,
    )
    await pool.execute(
        """INSERT INTO programme_versions (programme_id, version, config, source, actor)
           VALUES ($1, $2, $3::jsonb, 'file', 'bench')""",
        config.programme_id,
        config.version,
        text,
    )


async def archive(pool: asyncpg.Pool, config: ProgrammeConfig, count: int) -> float:
    """Decides and books `count` events; returns the seconds it took."""
    compiled = compile_programme(config)
    states: dict[str, UserState] = {}
    initial = UserState.initial()
    started = time.perf_counter()
    for batch in engine.events(count):
        commands = []
        for item in batch:
            decision = decide(item, states.get(item.user_id, initial), compiled)
            states[item.user_id] = decision.state
            raw = ledger_command_json(item, decision, item.model_dump_json().encode())
            commands.append(IncomingCommand.of(LedgerCommand.model_validate_json(raw)))
        for first in range(0, len(commands), COMMANDS_PER_BATCH):
            async with pool.acquire() as conn:
                chunk = commands[first : first + COMMANDS_PER_BATCH]
                await apply_batch(conn, Batch(chunk, expect_new=True))
        print(f"archived {len(states)} users' events up to {batch[-1].event_id}", flush=True)
    # Statistics as autovacuum would have them on a live system: without them, the planner may
    # join the journal to the archive by nested loops, and the report's read would dominate.
    await pool.execute("ANALYZE ledger.entries, ledger.decided_events")
    return time.perf_counter() - started


def candidate(config: ProgrammeConfig) -> ProgrammeConfig:
    """Version 2: the first event type's default rule pays twice its points."""
    data = config.model_dump(mode="json")
    data["version"] = 2
    doubled = data["rules"][3]
    doubled["points"] = str(2 * int(doubled["points"]))
    return ProgrammeConfig.model_validate(data)


def cpu_s() -> float:
    """CPU seconds of this process and of its children that have ended (the workers)."""
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


async def run(
    url: str, count: int, workers: int | None, fresh: bool, replay: bool
) -> tuple[float, float, int]:
    config = engine.programme()
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        if fresh:
            await store_programme(pool, config)
            archived_s = await archive(pool, config, count)
            print(f"archived {count} events in {archived_s:.1f} s", flush=True)
        if not replay:
            return 0.0, 0.0, 0
        archived = await pool.fetchval("SELECT count(*) FROM ledger.decided_events")
        wanted = workers_for(archived, os.cpu_count()) if workers is None else workers
        gc.collect()
        started, started_cpu = time.perf_counter(), cpu_s()
        report = await backtest(
            pool, config.programme_id, candidate(config), parallel=Parallel(url, wanted)
        )
        elapsed, elapsed_cpu = time.perf_counter() - started, cpu_s() - started_cpu
    print(
        f"backtest: {report.events} events in {elapsed:.1f} s with {wanted} process(es) "
        f"({elapsed_cpu:.1f} s of CPU in this process and its workers); "
        f"current {report.current.points} points, candidate {report.candidate.points}; "
        f"reproduces the journal: {report.reproduces}",
        flush=True,
    )
    return elapsed, elapsed_cpu, report.events


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.backtest", description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=None)
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--replay-only", action="store_true")
    only.add_argument("--archive-only", action="store_true")
    arguments = parser.parse_args()
    fresh, replay = not arguments.replay_only, not arguments.archive_only
    url = start(LocalSettings(), fresh)
    run_ = run(url, arguments.events, arguments.workers, fresh, replay)
    elapsed, elapsed_cpu, events = asyncio.run(run_)
    if not replay:
        return
    print(f"CPU backtest_events_per_cpu_s={events / elapsed_cpu:.0f}")
    print(f"RESULT backtest_events_per_s={events / elapsed:.0f}")


if __name__ == "__main__":
    main()
