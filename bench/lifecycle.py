"""`python -m bench.lifecycle`: points expiry's speed, and what keeping lots costs the writer.

1. Expiry: `--users` users (100,000) hold `--lots-per-user` lots each (10: 1,000,000 lots), all
   due by one local day, written straight into `ledger.accounts` (the setup is not measured).
   One lifecycle command for that day goes through Kafka to the real ledger writer, which
   expires them in its bounded chunks (`ledger.lifecycle`); the clock runs from the writer's
   first poll to the command's last chunk. `lots_expired_per_s` is lots over those seconds.
2. Bookings: `bench.ledger`'s load (awards and debits, one booking per command) through the real
   writer twice in the same session, for a programme without expiry (no lot is kept) and for one
   whose points expire (every credit forms a lot, every debit takes the earliest first).
   `bookings_per_s` is the second (with lots); the first is printed beside it.

Uses its own database (`loyalty_bench_lifecycle`; `LOYALTY_BENCH_DATABASE=NAME` makes it
`NAME_lifecycle`), fresh topics per run; starts the local Kafka and Postgres if they are not
running. Ends with `RESULT lots_expired_per_s=N bookings_per_s=M`.

`--alternate N`: only the bookings, N pairs in one process in the order with, without, with,
without... (neither gains from running first on emptier tables or a quieter machine), each run
printed with the share of its account updates Postgres made HOT; ends with
`RESULT bookings_with_lots_per_s=N bookings_without_per_s=M ratio=R` (the means).
"""

import argparse
import asyncio
import os
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

import asyncpg
import orjson

from bench.ledger import Clock, commands, fresh_topics
from deploy import db
from deploy.local import kafka, postgres
from deploy.local.settings import LocalSettings
from ledger.runtime import GC_THRESHOLDS
from ledger.settings import LedgerSettings
from ledger.writer import BatchReport, open_writer
from runtime.collector import tune_garbage_collector
from runtime.kafka import produce
from schemas.ledger import LifecycleAction, LifecycleCommand
from schemas.topics import programme_key

DATABASE = f"{os.environ.get('LOYALTY_BENCH_DATABASE', 'loyalty_bench')}_lifecycle"
EXPIRY = {"policy": "days_after_earning", "days": 30, "notice_days": 0}
DUE = date(2026, 6, 30)


def start_services(settings: LocalSettings) -> str:
    """Through deploy.local, as `./dev up` does; a running server is left as it is."""
    postgres.start(settings)
    postgres.wait_ready(settings)
    kafka.start(settings)
    kafka.wait_ready(settings)
    postgres.drop_database(settings, DATABASE)
    postgres.ensure_database(settings, DATABASE)
    url = settings.database_url(DATABASE)
    db.migrate(url)
    return url


async def create_programme(url: str, config: dict[str, object]) -> str:
    programme_id = f"bench-{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            """INSERT INTO programmes (programme_id, name, budget_mode, config, config_version)
               VALUES ($1, $1, 'unfunded', $2::jsonb, 1)""",
            programme_id,
            orjson.dumps(config).decode(),
        )
    finally:
        await conn.close()
    return programme_id


async def seed_lots(url: str, programme_id: str, users: int, lots_per_user: int) -> int:
    """`users` accounts with `lots_per_user` lots each, of the days up to DUE; returns the
    lots written."""
    days = [DUE - timedelta(days=n) for n in range(lots_per_user)][::-1]
    rows: list[tuple[object, ...]] = []
    for index in range(users):
        lots = [(day.isoformat(), 1 + (index + n) % 50) for n, day in enumerate(days)]
        balance = sum(points for _, points in lots)
        rows.append(
            (programme_id, "user", f"user-{index}", balance, orjson.dumps(lots).decode(), days[0])
        )
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "accounts",
            schema_name="ledger",
            columns=["programme_id", "kind", "owner_id", "balance", "lots", "lots_next_due"],
            records=rows,
        )
        await conn.execute("ANALYZE ledger.accounts")
    finally:
        await conn.close()
    return users * lots_per_user


def writer_settings(
    local: LocalSettings, url: str, programme_id: str, topics: tuple[str, str], batch: int
) -> LedgerSettings:
    return LedgerSettings(
        kafka_bootstrap_servers=local.kafka_bootstrap_servers,
        database_url=url,
        consumer_group=f"bench-{programme_id}",
        commands_topic=topics[0],
        dead_letters_topic=topics[1],
        batch_max_records=batch,
    )


async def time_expiry(
    local: LocalSettings, url: str, args: argparse.Namespace
) -> tuple[int, float]:
    """(lots expired, seconds) of one expiry run over the seeded lots."""
    programme_id = await create_programme(url, {"points_expiry": EXPIRY})
    seeded = await seed_lots(url, programme_id, args.users, args.lots_per_user)
    print(f"seeded {seeded} lots of {args.users} users")
    command = LifecycleCommand(
        command_id=f"expire:{programme_id}:{DUE}",
        programme_id=programme_id,
        action=LifecycleAction.EXPIRE_POINTS,
        local_day=DUE,
        effective_at=datetime(DUE.year, DUE.month, DUE.day, tzinfo=UTC),
    )
    bootstrap = local.kafka_bootstrap_servers
    async with fresh_topics(bootstrap, local.kafka_partitions) as topics:
        record = (programme_key(programme_id), command.model_dump_json().encode())
        await produce(bootstrap, topics[0], iter([record]))
        settings = writer_settings(local, url, programme_id, topics, args.batch_max_records)
        async with open_writer(settings) as writer:
            tune_garbage_collector(GC_THRESHOLDS)
            await writer.wait_for_assignment(deadline_s=60)
            started = time.perf_counter()
            processed = await writer.process_until_drained(deadline_s=1_800)
            elapsed = time.perf_counter() - started
    if processed != 1:
        raise RuntimeError(f"the writer processed {processed} records, expected 1")
    conn = await asyncpg.connect(url)
    try:
        run = await conn.fetchrow(
            "SELECT lots, chunks, finished_at FROM ledger.lifecycle_runs WHERE command_id = $1",
            command.command_id,
        )
        left = await conn.fetchval(
            """SELECT count(*) FROM ledger.accounts
               WHERE programme_id = $1 AND lots_next_due IS NOT NULL""",
            programme_id,
        )
    finally:
        await conn.close()
    if run is None or run["finished_at"] is None or run["lots"] != seeded or left:
        raise RuntimeError(f"the run did not expire every lot: {dict(run or {})}, {left} left")
    print(f"expiry: {run['lots']} lots in {run['chunks']} chunks, {elapsed:.2f} s")
    return int(run["lots"]), elapsed


@dataclass
class CpuClock(Clock):
    """`Clock`, and the CPU seconds the writer's process and its Postgres backends had used at
    each commit: on a busy machine CPU per booking says more than bookings per second."""

    backends: list[int] = field(default_factory=list)
    cpu: list[tuple[float, float]] = field(default_factory=list)

    def on_batch(self, report: BatchReport) -> None:
        super().on_batch(report)
        self.cpu.append((time.process_time(), sum(map(_cpu_seconds, self.backends))))

    def steady_cpu(self) -> tuple[float, float]:
        """(writer, Postgres) CPU seconds from the end of the warm-up to the last commit."""
        start = next(i for i, mark in enumerate(self.marks) if mark[1] >= self.warmup_commands)
        first, last = self.cpu[start], self.cpu[-1]
        return last[0] - first[0], last[1] - first[1]


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process so far (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def backend_pids(url: str) -> list[int]:
    """The Postgres backends connected to the benchmark's database (the writer's pool)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            """SELECT pid FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid()"""
        )
    finally:
        await conn.close()
    return [row[0] for row in rows]


class Bookings(NamedTuple):
    per_s: float
    writer_us: float
    """The writer process's CPU per booking, µs."""
    postgres_us: float
    """Its Postgres backends' CPU per booking, µs."""


async def time_bookings(
    local: LocalSettings, url: str, config: dict[str, object], args: argparse.Namespace
) -> float:
    """bench.ledger's steady-state bookings per second for a programme of `config`."""
    return (await measure_bookings(local, url, config, args)).per_s


async def measure_bookings(
    local: LocalSettings, url: str, config: dict[str, object], args: argparse.Namespace
) -> Bookings:
    """`time_bookings`, with the CPU per booking."""
    programme_id = await create_programme(url, config)
    count = args.warmup_commands + args.measured_commands
    bootstrap = local.kafka_bootstrap_servers
    async with fresh_topics(bootstrap, local.kafka_partitions) as topics:
        await produce(bootstrap, topics[0], commands(programme_id, count, users=20_000, seed=1))
        settings = writer_settings(local, url, programme_id, topics, args.batch_max_records)
        clock = CpuClock(args.warmup_commands)
        async with open_writer(settings) as writer:
            tune_garbage_collector(GC_THRESHOLDS)
            await writer.wait_for_assignment(deadline_s=60)
            clock.backends = await backend_pids(url)
            processed = await writer.process_until_drained(deadline_s=900, on_batch=clock.on_batch)
    if processed != count:
        raise RuntimeError(f"the writer processed {processed} records, expected {count}")
    _, bookings, seconds = clock.steady()
    writer_s, postgres_s = clock.steady_cpu()
    micro = 1e6 / bookings
    return Bookings(bookings / seconds, writer_s * micro, postgres_s * micro)


async def account_updates(url: str) -> tuple[int, int]:
    """(updates, HOT updates) of ledger.accounts so far (the statistics lag by up to a
    fraction of a second: read after a run's writer has closed)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT pg_stat_force_next_flush()")
        row = await conn.fetchrow(
            """SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
               WHERE schemaname = 'ledger' AND relname = 'accounts'"""
        )
    finally:
        await conn.close()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


async def alternate(local: LocalSettings, url: str, args: argparse.Namespace) -> None:
    """`--alternate N`: N pairs of bookings runs, with lots then without, in one process."""
    runs: dict[bool, list[Bookings]] = {True: [], False: []}
    for index in range(2 * args.alternate):
        with_lots = index % 2 == 0
        config: dict[str, object] = {"points_expiry": EXPIRY} if with_lots else {}
        before = await account_updates(url)
        await asyncio.sleep(1)  # the statistics of the run before are flushed
        measured = await measure_bookings(local, url, config, args)
        await asyncio.sleep(1)
        after = await account_updates(url)
        updates, hot = after[0] - before[0], after[1] - before[1]
        runs[with_lots].append(measured)
        label = "with lots" if with_lots else "without  "
        print(
            f"{label} {measured.per_s:6.0f}/s  CPU per booking: writer "
            f"{measured.writer_us:5.1f} µs, Postgres {measured.postgres_us:5.1f} µs; "
            f"account updates {updates}, HOT {hot} ({100 * hot / max(updates, 1):.0f} %)",
            flush=True,
        )
    means = {
        side: Bookings(*(statistics.mean(column) for column in zip(*runs[side], strict=True)))
        for side in (True, False)
    }
    for side, label in ((True, "with lots"), (False, "without  ")):
        mean = means[side]
        print(
            f"mean {label} {mean.per_s:6.0f}/s  writer {mean.writer_us:5.1f} µs, "
            f"Postgres {mean.postgres_us:5.1f} µs per booking"
        )
    with_mean, without_mean = means[True], means[False]
    cpu_with = with_mean.writer_us + with_mean.postgres_us
    cpu_without = without_mean.writer_us + without_mean.postgres_us
    print(
        f"RESULT bookings_with_lots_per_s={with_mean.per_s:.0f} "
        f"bookings_without_per_s={without_mean.per_s:.0f} "
        f"ratio={with_mean.per_s / without_mean.per_s:.3f} "
        f"cpu_ratio={cpu_without / cpu_with:.3f}"
    )


async def run(args: argparse.Namespace) -> None:
    local = LocalSettings()
    url = await asyncio.to_thread(start_services, local)
    if args.alternate:
        await alternate(local, url, args)
        return
    lots, seconds = await time_expiry(local, url, args)
    without = await time_bookings(local, url, {}, args)
    with_lots = await time_bookings(local, url, {"points_expiry": EXPIRY}, args)
    print(f"bookings: {without:.0f}/s without lots, {with_lots:.0f}/s with lots kept")
    print(f"RESULT lots_expired_per_s={lots / seconds:.0f} bookings_per_s={with_lots:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--lots-per-user", type=int, default=10)
    parser.add_argument("--warmup-commands", type=int, default=20_000)
    parser.add_argument("--measured-commands", type=int, default=100_000)
    parser.add_argument("--batch-max-records", type=int, default=5_000)
    parser.add_argument("--alternate", type=int, default=0, metavar="N")
    args = parser.parse_args()
    if args.alternate < 0:
        parser.error("--alternate must be 0 or more")
    if args.users < 1 or not 1 <= args.lots_per_user <= 366:
        parser.error("--users must be at least 1 and --lots-per-user between 1 and 366")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
